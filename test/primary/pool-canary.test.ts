// The pool's canary reloads, on fake workers and fake time: the first `workers` successors serve beside
// the old workers through the warmup and the observation window, measured at its start and end, and the
// verdict promotes them (the reload goes on) or drains them (the old workers stay, the settings too).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Outcome, PrimaryMessage } from '../../src/protocol.js';
import { canarySettings, fakePool, reloadSettings, resolvedApp } from '../helpers/fake-pool.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

const MiB = 2 ** 20;
const canaryApp = (instances = 3, canary: Parameters<typeof canarySettings>[0] = {}, env = { V: '1' }) =>
  resolvedApp({
    instances,
    env,
    reload: reloadSettings({
      canary: canarySettings({ enabled: true, warmup: 1_000, observe: 10_000, ...canary }),
    }),
  });

function running(app = canaryApp()) {
  const t = fakePool(app);
  t.pool.start(t.reply());
  for (const w of [...t.forks]) w.ready();
  expect(t.pool.appState).toBe('running');
  return t;
}

const canaryEvents = (sent: PrimaryMessage[]) =>
  sent.filter((m) => m.type === 'canary').map((m) => (m.type === 'canary' ? m.phase : ''));

// Through the warmup, then the window's start measurement (a promise: flushed by the async advance).
async function observe(ms = 1_000) {
  await vi.advanceTimersByTimeAsync(ms);
}

// A deploy of V 2 with its canary ready and through the warmup: the window has begun.
async function observing(t: ReturnType<typeof running>) {
  const replies: Outcome[] = [];
  t.pool.reload(canaryApp(3, {}, { V: '2' }), t.reply(replies));
  const canary = t.forks[3];
  canary?.ready();
  await observe(1_000);
  return { replies, canary };
}

describe('pool: canary reloads', () => {
  it('keeps the old workers and their settings when the canary answers 500 to a fifth of its requests', async () => {
    const t = running();
    const olds = [...t.forks];
    const replies: Outcome[] = [];
    const v2 = canaryApp(3, {}, { V: '2' });
    t.pool.reload(v2, t.reply(replies));
    const canary = t.forks[3];
    expect(canary?.slot).toBe(0);
    canary?.ready();
    // Ready, but not promoted: the old worker of its slot serves beside it, nothing else started.
    expect(olds.every((w) => !w.drained)).toBe(true);
    expect(t.forks).toHaveLength(4);
    await observe(1_000);
    expect(canaryEvents(t.sent)).toEqual(['started', 'observing']);
    // The window: the canary 200 requests with 40 errors, the old ones 300 each, fine.
    canary?.serve(200, { errors: 40 });
    for (const w of olds) w.serve(300);
    await observe(10_000);
    expect(replies).toHaveLength(1);
    const failure = replies[0] as Extract<Outcome, { ok: false }>;
    expect(failure).toMatchObject({
      ok: false,
      code: 'CLUSTERD_ERR_CANARY_FAILED',
      reason: 'canary: failed requests (5xx or unfinished) 20% vs 0%',
    });
    expect(failure.canary).toMatchObject({
      outcome: 'fail',
      canaries: [{ worker: 0, pid: canary?.pid }],
      baselineWorkers: 3,
      observed: 10_000,
    });
    expect(canary?.drained).toBe(true);
    expect(olds.every((w) => !w.drained)).toBe(true);
    expect(canaryEvents(t.sent)).toEqual(['started', 'observing', 'judged']);
    // An old worker that crashes now restarts on the old settings.
    olds[1]?.exit(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.forks.at(-1)?.app.env).toEqual({ V: '1' });
    expect(t.reloads().at(-1)).toMatchObject({ phase: 'failed' });
  });

  it('promotes a canary like the old workers and rolls on one slot at a time', async () => {
    const t = running();
    const olds = [...t.forks];
    const replies: Outcome[] = [];
    t.pool.reload(canaryApp(3, {}, { V: '2' }), t.reply(replies));
    t.forks[3]?.ready();
    await observe(1_000);
    t.forks[3]?.serve(150, { ms: 12 });
    for (const w of olds) w.serve(300, { ms: 10 });
    await observe(10_000);
    // Promoted: slot 0's old worker drains and slot 1's successor starts.
    expect(olds[0]?.drained).toBe(true);
    expect(t.forks).toHaveLength(5);
    t.forks[4]?.ready();
    t.forks[5]?.ready();
    expect(replies[0]).toMatchObject({ ok: true, result: { replaced: 3, canary: { outcome: 'pass' } } });
    expect(canaryEvents(t.sent)).toEqual(['started', 'observing', 'judged']);
  });

  it('rolls back a canary that crashes while it is observed, at once, without waiting for the window', async () => {
    const t = running();
    const replies: Outcome[] = [];
    t.pool.reload(canaryApp(3, {}, { V: '2' }), t.reply(replies));
    t.forks[3]?.ready();
    await observe(1_000);
    await observe(4_000);
    t.forks[3]?.exit(1, null, 'Error: boom');
    expect(replies[0]).toMatchObject({
      ok: false,
      code: 'CLUSTERD_ERR_CANARY_FAILED',
      reason: 'canary: canary worker 0 exited: exit code 1: Error: boom',
      canary: { outcome: 'fail', observed: 4_000, baselineWorkers: 3 },
    });
    // Nothing more is measured or judged.
    const events = canaryEvents(t.sent).length;
    await observe(20_000);
    expect(canaryEvents(t.sent)).toHaveLength(events);
  });

  it('fails on too little traffic, or goes on when insufficientTraffic is "pass"', async () => {
    for (const insufficientTraffic of ['fail', 'pass'] as const) {
      const t = running(canaryApp(2, { insufficientTraffic }));
      const replies: Outcome[] = [];
      t.pool.reload(canaryApp(2, { insufficientTraffic }, { V: '2' }), t.reply(replies));
      t.forks[2]?.ready();
      await observe(11_000);
      if (insufficientTraffic === 'fail') {
        expect(replies[0]).toMatchObject({ ok: false, code: 'CLUSTERD_ERR_CANARY_INCONCLUSIVE' });
        expect(t.forks[2]?.drained).toBe(true);
      } else {
        t.forks[3]?.ready();
        expect(replies[0]).toMatchObject({
          ok: true,
          result: { canary: { outcome: 'insufficient', proceed: true } },
        });
      }
    }
  });

  it('judges a canary that grew too large, weighs the balancer for the phase, and takes `workers` canaries', async () => {
    const t = running(canaryApp(4, { workers: 2, weight: 0.25 }));
    const replies: Outcome[] = [];
    t.pool.reload(canaryApp(4, { workers: 2, weight: 0.25 }, { V: '2' }), t.reply(replies));
    const canaries = t.forks.slice(4);
    expect(canaries.map((w) => w.slot)).toEqual([0, 1]);
    for (const w of canaries) w.ready();
    expect(t.weighed).toEqual([{ pids: canaries.map((w) => w.pid), weight: 0.25 }]);
    await observe(1_000);
    for (const w of t.forks) w.serve(200);
    if (canaries[1]) canaries[1].memory = 200 * MiB;
    await observe(10_000);
    expect(replies[0]).toMatchObject({
      ok: false,
      code: 'CLUSTERD_ERR_CANARY_FAILED',
      reason: 'canary: RSS 200 MiB vs 50 MiB',
    });
    expect(t.weighed.at(-1)).toEqual({ pids: [], weight: null });
  });

  it('gives a slot whose canary took it over the old release back when the canary fails', async () => {
    const t = running();
    const [old0] = t.forks;
    const { replies, canary } = await observing(t);
    // Slot 0's old worker dies during the window: its canary takes the slot over.
    old0?.exit(1, null, 'Error: old crash');
    for (const w of t.forks) w.serve(200, { errors: w === canary ? 60 : 0 });
    await observe(10_000);
    // Not answered yet: slot 0 gets a worker of the old settings first, beside the canary.
    expect(replies).toEqual([]);
    const restored = t.forks[4];
    expect(restored?.slot).toBe(0);
    expect(restored?.app.env).toEqual({ V: '1' });
    expect(canary?.drained).toBe(false);
    restored?.ready();
    expect(canary?.drained).toBe(true);
    expect(replies[0]).toMatchObject({ ok: false, code: 'CLUSTERD_ERR_CANARY_FAILED' });
    // Every slot runs the old settings again.
    for (const slot of [0, 1, 2]) expect(t.workersOf(slot).at(-1)?.app.env).toEqual({ V: '1' });
  });

  it('restarts on the old settings a canary that took its slot over and then crashed', async () => {
    const t = running();
    const [old0] = t.forks;
    const { replies, canary } = await observing(t);
    old0?.exit(1);
    canary?.exit(1, null, 'Error: canary crash');
    const restored = t.forks.at(-1);
    expect(restored?.app.env).toEqual({ V: '1' });
    restored?.ready();
    expect(replies[0]).toMatchObject({ ok: false, code: 'CLUSTERD_ERR_CANARY_FAILED' });
  });

  it('says which slot still runs the new release when the old one does not start again there', async () => {
    const t = running();
    const [old0] = t.forks;
    const { replies, canary } = await observing(t);
    old0?.exit(1, null, 'Error: old crash');
    for (const w of t.forks) w.serve(200, { errors: w === canary ? 60 : 0 });
    await observe(10_000);
    t.forks[4]?.exit(1, null, 'Error: old release failed to boot');
    expect(replies[0]).toMatchObject({ ok: false, code: 'CLUSTERD_ERR_CANARY_FAILED' });
    expect((replies[0] as { reason: string }).reason).toMatch(
      /; worker 0 still runs the new release: the old one did not start again \(exit code 1: Error: old release failed to boot\)$/,
    );
  });

  it('ends the reload when the old settings it restores were stop-first', async () => {
    const previous = resolvedApp({
      instances: 3,
      env: { V: '1' },
      reload: reloadSettings({ order: 'stop-first' }),
    });
    const t = running(previous);
    const [old0] = t.forks;
    const { replies, canary } = await observing(t);
    old0?.exit(1);
    for (const w of t.forks) w.serve(200, { errors: w === canary ? 60 : 0 });
    await observe(10_000);
    // Stop-first: the canary drains before the old release starts in its slot.
    expect(canary?.drained).toBe(true);
    canary?.exit(0);
    const restored = t.forks.at(-1);
    expect(restored?.app.env).toEqual({ V: '1' });
    restored?.ready();
    expect(replies[0]).toMatchObject({ ok: false, code: 'CLUSTERD_ERR_CANARY_FAILED' });
    // The pool takes requests again: a scale-up forks at once, on the old settings.
    const forks = t.forks.length;
    t.pool.scale(4, t.reply());
    expect(t.forks).toHaveLength(forks + 1);
    expect(t.forks.at(-1)?.app.env).toEqual({ V: '1' });
  });

  it('restores a canary that took its slot over when another canary of its group fails to start', () => {
    const t = running(canaryApp(3, { workers: 2 }));
    const [old0] = t.forks;
    const replies: Outcome[] = [];
    t.pool.reload(canaryApp(3, { workers: 2 }, { V: '2' }), t.reply(replies));
    const [c0, c1] = t.forks.slice(3);
    c0?.ready();
    old0?.exit(1);
    c1?.exit(1, null, 'Error: boot');
    // Not answered until slot 0 runs the old release again.
    expect(replies).toEqual([]);
    const restored = t.forks.at(-1);
    expect(restored?.app.env).toEqual({ V: '1' });
    restored?.ready();
    expect(replies[0]).toMatchObject({ ok: false, code: 'CLUSTERD_ERR_RELOAD_FAILED' });
    expect(c0?.drained).toBe(true);
  });

  it("keeps a deploy's canary when a watched file's reload is folded into it", async () => {
    const t = running();
    t.pool.reload(canaryApp(3, {}, { V: '2' }), t.reply(), false);
    const deploy: Outcome[] = [];
    t.pool.reload(canaryApp(3, {}, { V: '3' }), t.reply(deploy));
    t.pool.watchReload(t.reply());
    for (let i = 3; i < 6; i++) t.forks[i]?.ready();
    // The deploy starts with its canary.
    t.forks[6]?.ready();
    await observe(1_000);
    expect(canaryEvents(t.sent)).toEqual(['started', 'observing']);
    expect(t.forks).toHaveLength(7);
    // A watched file's reload alone has none, even when the settings have one.
    const w = running();
    w.pool.watchReload(w.reply());
    expect(w.forks).toHaveLength(4);
    w.forks[3]?.ready();
    expect(w.forks).toHaveLength(5);
    expect(canaryEvents(w.sent)).toEqual([]);
  });

  it("leaves out a worker that missed the window's start measurement, instead of its whole life", async () => {
    const t = running();
    const olds = [...t.forks];
    // Yesterday's incident: half of every old worker's lifetime requests failed.
    for (const w of olds) w.serve(100_000, { errors: 50_000 });
    const replies: Outcome[] = [];
    t.pool.reload(canaryApp(3, {}, { V: '2' }), t.reply(replies));
    const canary = t.forks[3];
    canary?.ready();
    if (olds[1]) olds[1].answers = false;
    await observe(1_000);
    if (olds[1]) olds[1].answers = true;
    canary?.serve(1_000, { errors: 300 });
    for (const w of olds) w.serve(1_000);
    await observe(10_000);
    expect(replies[0]).toMatchObject({
      ok: false,
      code: 'CLUSTERD_ERR_CANARY_FAILED',
      canary: { baselineWorkers: 2 },
    });
  });

  it('fails a canary whose requests never finish (given up by their clients)', async () => {
    const t = running();
    const { replies, canary } = await observing(t);
    canary?.serve(800);
    if (canary) canary.counts.aborted += 200;
    for (const w of t.forks.slice(0, 3)) w.serve(1_000);
    await observe(10_000);
    expect(replies[0]).toMatchObject({ ok: false, code: 'CLUSTERD_ERR_CANARY_FAILED' });
  });

  it('fails a canary whose requests hang: under way at the end of its window and not at its start', async () => {
    const t = running();
    const { replies, canary } = await observing(t);
    canary?.serve(800);
    // 200 more started, and their clients still wait.
    if (canary) canary.counts.started += 200;
    for (const w of t.forks.slice(0, 3)) w.serve(1_000);
    await observe(10_000);
    expect(replies[0]).toMatchObject({ ok: false, code: 'CLUSTERD_ERR_CANARY_FAILED' });
    const errors = (
      replies[0] as { canary: { checks: { check: string; canary: number }[] } }
    ).canary.checks.find((c) => c.check === 'errors');
    expect(errors?.canary).toBeCloseTo(0.2, 5);
  });

  it('says in its result why a canary asked for was skipped', async () => {
    const t = running(canaryApp(2));
    t.forks[1]?.exit(0);
    await vi.advanceTimersByTimeAsync(100);
    const replies: Outcome[] = [];
    t.pool.reload(null, t.reply(replies), true);
    for (const w of t.forks.slice(2)) w.ready();
    t.forks.at(-1)?.ready();
    expect(replies[0]).toMatchObject({
      ok: true,
      result: { noCanary: '1 worker slot(s) serve nothing, so there is nothing to compare a canary with' },
    });
  });

  it('fails a canary whose event loop does not answer its measurement', async () => {
    const t = running();
    const replies: Outcome[] = [];
    t.pool.reload(canaryApp(3, {}, { V: '2' }), t.reply(replies));
    t.forks[3]?.ready();
    await observe(1_000);
    for (const w of t.forks) w.serve(200);
    if (t.forks[3]) t.forks[3].answers = false;
    await observe(10_000);
    expect(replies[0]).toMatchObject({ ok: false, code: 'CLUSTERD_ERR_CANARY_FAILED' });
    expect((replies[0] as { reason: string }).reason).toMatch(/did not answer its measurement/);
  });

  it('runs no canary for a watched file, nor when asked not to; runs one when asked for', async () => {
    const t = running();
    t.pool.reload(null, t.reply(), false);
    t.forks[3]?.ready();
    t.forks[4]?.ready();
    t.forks[5]?.ready();
    expect(t.replies.at(-1)).toMatchObject({ ok: true, result: { replaced: 3 } });
    expect(canaryEvents(t.sent)).toEqual([]);
    const plain = running(resolvedApp({ instances: 2 }));
    plain.pool.reload(null, plain.reply(), true);
    plain.forks[2]?.ready();
    await observe(5_000);
    expect(canaryEvents(plain.sent)).toEqual(['started', 'observing']);
  });

  it('skips the canary, and says so, when a slot serves nothing to compare with', async () => {
    const t = running(canaryApp(2, {}));
    // Slot 1's worker ends cleanly: under on-failure it is not restarted, its slot serves nothing.
    t.forks[1]?.exit(0);
    await vi.advanceTimersByTimeAsync(100);
    t.pool.reload(null, t.reply());
    expect(canaryEvents(t.sent)).toEqual([]);
    expect(t.sent.filter((m) => m.type === 'warning')).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^canary skipped: 1 worker slot\(s\) serve nothing/),
      }),
    ]);
    // The reload replaces every worker, the revived slot first.
    expect(t.forks.slice(2).map((w) => w.slot)).toEqual([1]);
  });

  it('ends the canary phase when the app stops', async () => {
    const t = running();
    const replies: Outcome[] = [];
    t.pool.reload(canaryApp(3, { weight: 0.5 }, { V: '2' }), t.reply(replies));
    t.forks[3]?.ready();
    await observe(2_000);
    t.pool.stop();
    expect(replies[0]).toMatchObject({ ok: false, code: 'CLUSTERD_ERR_APP_STOPPING' });
    expect(t.weighed.at(-1)).toEqual({ pids: [], weight: null });
    const events = canaryEvents(t.sent).length;
    await observe(20_000);
    expect(canaryEvents(t.sent)).toHaveLength(events);
  });
});
