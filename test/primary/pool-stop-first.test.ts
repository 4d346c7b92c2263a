// The pool's reloads with `reload.order` "stop-first", on fake workers and fake time: one slot at a time
// its old worker stops before its replacement is forked (the port it holds is free by then), the reload
// waits for that replacement as for a successor, and one that dies fails the reload and stops it there.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Outcome } from '../../src/protocol.js';
import { advance, fakePool, reloadSettings, resolvedApp } from '../helpers/fake-pool.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

const stopFirst = (instances = 2, parallel = 1) =>
  resolvedApp({ instances, reload: reloadSettings({ parallel, order: 'stop-first' }), readiness: 'loaded' });

function running(app = stopFirst()) {
  const t = fakePool(app);
  t.pool.start(t.reply());
  for (const w of [...t.forks]) w.ready();
  expect(t.pool.appState).toBe('running');
  return t;
}

const result = (outcome: Outcome | undefined) => {
  expect(outcome?.ok, JSON.stringify(outcome)).toBe(true);
  return (outcome as { result: unknown }).result;
};

describe('pool: stop-first reloads', () => {
  it('stops each old worker before forking its replacement, one slot after the other', () => {
    const t = running();
    const [old0, old1] = t.forks;
    const replies: Outcome[] = [];
    t.pool.reload(null, t.reply(replies));
    // Slot 0's worker drains; nothing new yet, slot 1 untouched.
    expect(old0?.drained).toBe(true);
    expect(old1?.drained).toBe(false);
    expect(t.forks).toHaveLength(2);
    expect(t.pool.appState).toBe('running');
    old0?.exit(0, null);
    expect(t.forks).toHaveLength(3);
    const next0 = t.forks[2];
    expect(next0?.slot).toBe(0);
    // Slot 1 waits until slot 0's replacement is ready.
    expect(old1?.drained).toBe(false);
    next0?.ready();
    expect(old1?.drained).toBe(true);
    expect(t.forks).toHaveLength(3);
    old1?.exit(null, 'SIGTERM');
    t.forks[3]?.ready();
    expect(result(replies[0])).toMatchObject({ replaced: 2 });
    expect(t.slotStates(0)).toEqual(['serving', 'recreating', 'serving']);
    expect(t.slotStates(1)).toEqual(['serving', 'recreating', 'serving']);
    // Planned: the app never went to backoff for it.
    expect(t.appStates()).toEqual(['running']);
  });

  it('starts the replacement even when the old worker had to be killed at the shutdown timeout', () => {
    const t = running(stopFirst(1));
    const [old] = t.forks;
    t.pool.reload(null, t.reply());
    // Its stop escalates by itself (stop.ts): what the pool sees is the SIGKILL's exit.
    old?.exit(null, 'SIGKILL');
    expect(t.forks).toHaveLength(2);
    t.forks[1]?.ready();
    expect(result(t.replies.at(-1))).toMatchObject({ replaced: 1 });
  });

  it('fails the reload when a replacement dies, restarts that slot by the policy, and leaves the rest', () => {
    const t = running();
    const [old0, old1] = t.forks;
    const replies: Outcome[] = [];
    t.pool.reload(resolvedApp({ ...stopFirst(), env: { V: '2' } }), t.reply(replies));
    old0?.exit(0, null);
    t.forks[2]?.exit(1, null, 'Error: listen EADDRINUSE: address already in use :::8000');
    expect(replies).toEqual([
      {
        ok: false,
        code: 'CLUSTERD_ERR_RELOAD_FAILED',
        reason:
          'worker 0 did not get ready: exit code 1: Error: listen EADDRINUSE: address already in use :::8000',
      },
    ]);
    expect(old1?.drained).toBe(false);
    expect(t.slotStates(0)).toEqual(['serving', 'recreating', 'backoff']);
    expect(t.pool.appState).toBe('backoff');
    // Its restart runs the settings it was reloaded onto: the old worker is gone, nothing to roll back to.
    advance(100);
    expect(t.forks[3]?.app.env).toEqual({ V: '2' });
    t.forks[3]?.ready();
    expect(t.pool.appState).toBe('running');
  });

  it('a reload asked for meanwhile waits, then replaces every slot again', () => {
    const t = running();
    const first: Outcome[] = [];
    const second: Outcome[] = [];
    t.pool.reload(null, t.reply(first));
    t.pool.reload(null, t.reply(second));
    for (let i = 0; i < 4; i++) {
      const live = t.workersOf(i % 2);
      const old = live[0];
      old?.exit(0, null);
      t.workersOf(i % 2)
        .at(-1)
        ?.ready();
    }
    expect(result(first[0])).toMatchObject({ replaced: 2 });
    expect(result(second[0])).toMatchObject({ replaced: 2 });
    expect(t.forks).toHaveLength(6);
  });

  it('a stop while an old worker drains starts nothing more and answers the reload', () => {
    const t = running();
    const [old0, old1] = t.forks;
    const replies: Outcome[] = [];
    t.pool.reload(null, t.reply(replies));
    t.pool.stop(t.reply());
    expect(replies[0]).toMatchObject({ ok: false, code: 'CLUSTERD_ERR_APP_STOPPING' });
    old0?.exit(0, null);
    old1?.exit(0, null);
    expect(t.forks).toHaveLength(2);
    expect(t.pool.appState).toBe('stopped');
  });
});
