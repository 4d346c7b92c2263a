// The transport on its own: real systemd-notify processes sending to a real datagram socket, in order,
// one at a time; a missing binary is said once, not at every message.
import { describe, expect, it } from 'vitest';
import { SystemdNotifyTransport } from '../../src/systemd/systemd-notify.js';
import { NotifyListener, requireTool } from '../helpers/notify-socket.js';

describe('systemd-notify transport', () => {
  it('delivers messages in the order they were sent, each whole, and drains', async () => {
    requireTool('systemd-notify');
    const notify = await NotifyListener.start();
    const failures: string[] = [];
    const transport = new SystemdNotifyTransport({ socket: notify.path, failed: (m) => failures.push(m) });
    transport.send(['READY=1', 'STATUS=running: web']);
    transport.send(['RELOADING=1', 'MONOTONIC_USEC=12345', 'STATUS=reloading the config']);
    transport.send(['WATCHDOG=1']);
    transport.send(['WATCHDOG=1']);
    transport.send(['READY=1', 'STATUS=a status with spaces; and "quotes" $HOME']);
    transport.send(['STOPPING=1']);
    await transport.drained();
    await notify.waitFor('STOPPING=1');
    expect(notify.notifications.map((m) => m.fields)).toEqual([
      ['READY=1', 'STATUS=running: web'],
      ['RELOADING=1', 'MONOTONIC_USEC=12345', 'STATUS=reloading the config'],
      ['WATCHDOG=1'],
      // The second WATCHDOG=1 was still queued behind the first: it said nothing more.
      ['READY=1', 'STATUS=a status with spaces; and "quotes" $HOME'],
      ['STOPPING=1'],
    ]);
    expect(failures).toEqual([]);
  });

  it('a missing systemd-notify is reported once, and sending goes on without throwing', async () => {
    const failures: string[] = [];
    const transport = new SystemdNotifyTransport({
      socket: '/nonexistent/notify',
      command: '/nonexistent/systemd-notify',
      failed: (m) => failures.push(m),
    });
    transport.send(['READY=1']);
    transport.send(['WATCHDOG=1']);
    transport.send(['STOPPING=1']);
    await transport.drained();
    expect(failures).toEqual([
      "/nonexistent/systemd-notify was not found (install systemd's systemd-notify, or unset NOTIFY_SOCKET)",
    ]);
  });

  it('a socket nobody listens on: the failure is said once', async () => {
    requireTool('systemd-notify');
    const failures: string[] = [];
    const transport = new SystemdNotifyTransport({
      socket: '/nonexistent/notify',
      failed: (m) => failures.push(m),
    });
    transport.send(['READY=1']);
    transport.send(['STOPPING=1']);
    await transport.drained();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(
      /^systemd-notify READY=1 failed \(exit code 1\): .*No such file or directory/,
    );
  });
});
