// What the fuzzer reads of a pool: its slots (their snapshots) and its live workers.
import type { Pool } from '../../src/primary/pool/pool.js';

export function poolView(pool: Pool) {
  const { slots, workers } = pool.view();
  return { slots, workers: workers.map((w) => ({ pid: w.pid, state: w.lifecycle.state })) };
}
