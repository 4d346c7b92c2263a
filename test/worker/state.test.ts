// The worker's one draining state (state.cts): written once by the drain message, read by everything
// through isDraining, `clusterd/worker`'s isDraining() included, and shared through the global an
// older copy of clusterd/worker also reads.
import { describe, expect, it } from 'vitest';
import { isDraining } from '../../src/worker/index.js';
import state from '../../src/worker/state.cjs';

describe('worker draining state', () => {
  it('begins once, and every reader sees it', () => {
    expect(state.isDraining()).toBe(false);
    expect(isDraining()).toBe(false);
    expect(state.beginDraining()).toBe(true);
    expect(state.beginDraining()).toBe(false); // a second drain message changes nothing
    expect(state.isDraining()).toBe(true);
    expect(isDraining()).toBe(true);
    // Where an older copy of clusterd/worker (another node_modules) reads it.
    const shared = (globalThis as unknown as Record<symbol, { draining: boolean }>)[
      Symbol.for('clusterd.worker')
    ];
    expect(shared?.draining).toBe(true);
    expect(shared).toBe(state.shared);
  });
});
