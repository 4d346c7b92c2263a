// The settings of a reload that fails: restored for the app (its scale-ups, restart policy, guards, and
// through main.ts its log files and watcher), never used by a restart of an old worker; the workers it
// did replace keep theirs until the next reload. Fake workers and fake time.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Outcome } from '../../src/protocol.js';
import { advance, fakePool, resolvedApp } from '../helpers/fake-pool.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

function running(app = resolvedApp()) {
  const t = fakePool(app);
  t.pool.start(t.reply());
  for (const w of [...t.forks]) w.ready();
  return t;
}
const ok = (outcome: Outcome | undefined) => {
  expect(outcome?.ok, JSON.stringify(outcome)).toBe(true);
  return (outcome as { result: unknown }).result;
};
const failed = (outcome: Outcome | undefined) => {
  expect(outcome?.ok, JSON.stringify(outcome)).toBe(false);
  return (outcome as { reason: string }).reason;
};

describe('pool: the settings of a failed reload', () => {
  it("keeps the app's previous settings when a reload fails: old workers restart and scale-ups start on them", () => {
    const v = (V: string) => resolvedApp({ instances: 3, env: { V } });
    const settings: string[] = [];
    const t = fakePool(v('1'), { settingsChanged: (app) => settings.push(app.env.V ?? '') });
    t.pool.start(t.reply());
    for (const w of [...t.forks]) w.ready();
    t.pool.reload(v('2'), t.reply());
    // Slot 0 is replaced; slot 1's successor fails, and the reload with it.
    t.forks[3]?.ready();
    t.forks[4]?.exit(1, null, 'Error: boom at boot');
    expect(failed(t.replies.at(-1))).toBe('worker 1 did not get ready: exit code 1: Error: boom at boot');
    expect(settings).toEqual(['2', '1']);
    // An old worker that crashes restarts on the settings it ran, not on those of the failed reload.
    t.forks[2]?.exit(1);
    advance(100);
    expect(t.forks[5]).toMatchObject({ slot: 2, app: { env: { V: '1' } } });
    t.forks[5]?.ready();
    // The worker the reload did replace runs the new version: it restarts on its own settings.
    t.forks[3]?.exit(1);
    advance(100);
    expect(t.forks[6]).toMatchObject({ slot: 0, app: { env: { V: '2' } } });
    t.forks[6]?.ready();
    // New capacity gets the app's settings, which the failed reload left as they were.
    t.pool.scale(4, t.reply());
    expect(t.forks[7]).toMatchObject({ slot: 3, app: { env: { V: '1' } } });
    // The next reload brings every slot onto its settings.
    t.forks[7]?.ready();
    t.pool.reload(null, t.reply());
    for (let i = 0; i < 4; i++) t.forks.at(-1)?.ready();
    expect(ok(t.replies.at(-1))).toMatchObject({ replaced: 4 });
    expect(t.forks.slice(-4).map((w) => w.app.env.V)).toEqual(['1', '1', '1', '1']);
  });

  it('restarts an old worker that crashes during a reload on its own settings, before the reload reaches it', () => {
    const t = running(resolvedApp({ env: { V: '1' } }));
    t.pool.reload(resolvedApp({ env: { V: '2' } }), t.reply());
    t.forks[1]?.exit(1);
    advance(100);
    expect(t.forks[3]).toMatchObject({ slot: 1, app: { env: { V: '1' } } });
  });
});
