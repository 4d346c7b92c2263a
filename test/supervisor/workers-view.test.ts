// The root's picture of workers: a draining worker's open connections are kept for status while it
// drains, and forgotten once it is not draining.
import { describe, expect, it } from 'vitest';
import type { WorkerTransition } from '../../src/protocol.js';
import { WorkersView } from '../../src/supervisor/workers-view.js';

const t = (pid: number, from: WorkerTransition['from'], to: WorkerTransition['to']): WorkerTransition => ({
  worker: 0,
  pid,
  from,
  to,
});

describe('WorkersView connections', () => {
  it('keeps the last count a draining worker reported, and ignores one from a worker not draining', () => {
    const view = new WorkersView(() => 0);
    view.transition(t(10, null, 'starting'));
    view.transition(t(10, 'starting', 'ready'));
    view.connections(10, 7);
    expect(view.list()[0]?.open).toBeNull();
    view.transition(t(10, 'ready', 'draining'));
    expect(view.list()[0]?.open).toBeNull();
    view.connections(10, 7);
    view.connections(10, 3);
    expect(view.list()[0]).toMatchObject({ pid: 10, state: 'draining', open: 3 });
    view.connections(99, 1); // no such worker
    view.transition(t(10, 'draining', 'stopped'));
    expect(view.list()).toEqual([]);
  });
});
