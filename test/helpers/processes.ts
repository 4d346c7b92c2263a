// Finds every process a test started, by a tag in its environment that all descendants inherit,
// so a test can prove that nothing it started is left behind.
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of live processes (zombies excluded) whose environment holds CLUSTERD_TEST_TAG=tag. */
export function taggedProcesses(tag: string): number[] {
  const needle = `CLUSTERD_TEST_TAG=${tag}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && state !== 'X') pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** True while `pid` is a live (not zombie) process. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Polls until `check` is true; rejects with `what` after `timeoutMs`. */
export async function until(
  check: () => boolean,
  what: string,
  timeoutMs = 5_000,
  everyMs = 10,
): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return Date.now() - start;
}
