// Reading a worker's memory and main thread from /proc files (a fake /proc here; the real one in
// cluster-worker.test.ts).
import { describe, expect, it } from 'vitest';
import { readMainThread, readRss } from '../../src/primary/guards/proc-sample.js';
import { tempDir, writeFiles } from '../helpers/files.js';

describe('proc samples', () => {
  it('reads VmRSS in kB as bytes', () => {
    const proc = writeFiles(tempDir(), {
      '42/status': 'Name:\tnode\nVmPeak:\t  900000 kB\nVmRSS:\t   51200 kB\nRssAnon:\t 30000 kB\n',
    });
    expect(readRss(42, proc)).toBe(51200 * 1024);
    expect(readRss(43, proc)).toBeNull();
  });

  it("reads the main thread's state and CPU time, whatever its name holds", () => {
    // Fields after the name: state (3) ... utime (14) stime (15), in clock ticks of 10 ms.
    const rest = ['R', '1', '42', '42', '0', '-1', '4194560', '100', '0', '0', '0', '250', '50', '0', '0'];
    const proc = writeFiles(tempDir(), { '42/task/42/stat': `42 (node (x) y) ${rest.join(' ')} 20 0 1\n` });
    expect(readMainThread(42, proc)).toEqual({ state: 'R', cpuMs: 3_000 });
    expect(readMainThread(7, proc)).toBeNull();
  });
});
