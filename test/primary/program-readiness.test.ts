// The pure parts of a program's `port` readiness: reading /proc/net/tcp{,6} for the accepted end of a
// probe, and where a wildcard listen is reached. The whole of it runs for real in programs.test.ts.
import { describe, expect, it } from 'vitest';
import { acceptedInode, probeHost } from '../../src/primary/process/program-readiness.js';

// Lines as the kernel prints them (header, the listening socket, a connection in the accept queue with
// inode 0, an accepted one, and the client ends, which the server port never names as local).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 811234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F40 0100007F:A001 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F40 0100007F:A002 01 00000000:00000000 00:00000000 00000000     0        0 922337 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:A002 0100007F:1F40 01 00000000:00000000 00:00000000 00000000     0        0 922338 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:1F40 0000000000000000FFFF00000100007F:B00B 01 00000000:00000000 00:00000000 00000000     0        0 5551 1 0000000000000000 20 4 30 10 -1
`;

describe('acceptedInode', () => {
  it('finds the server end of a connection by the two ports, and 0 while it waits in the queue', () => {
    expect(acceptedInode(TCP, 0x1f40, 0xa002)).toBe(922337);
    expect(acceptedInode(TCP, 0x1f40, 0xa001)).toBe(0);
    expect(acceptedInode(TCP, 0x1f40, 0xa003)).toBeNull();
    // The client end (local port the client's) is not taken for the server's.
    expect(acceptedInode(TCP, 0xa002, 0x1f40)).toBe(922338);
  });

  it('reads IPv4-mapped connections of a dual-stack socket in tcp6', () => {
    expect(acceptedInode(TCP6, 8000, 0xb00b)).toBe(5551);
    expect(acceptedInode('', 8000, 1)).toBeNull();
    expect(acceptedInode('garbage\n\n', 8000, 1)).toBeNull();
  });
});

describe('probeHost', () => {
  it('reaches a wildcard listen on loopback, a named one where it is', () => {
    expect(probeHost(null)).toBe('127.0.0.1');
    expect(probeHost('0.0.0.0')).toBe('127.0.0.1');
    expect(probeHost('::')).toBe('::1');
    expect(probeHost('10.0.0.5')).toBe('10.0.0.5');
  });
});
