// A property test of the pool: random runs over fake workers and fake time (starts, readiness, exits of
// every kind before and after ready, failed forks, time passing through backoffs and readyTimeouts,
// reloads with and without settings, scaling, guard replacements, stop), with the pool's invariants
// checked after every event and every request's answer counted at the end. Each run is deterministic
// per seed; a failure names its seed, and FUZZ_SEED=<seed> replays that one run alone.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResolvedApp } from '../../src/config/resolved.js';
import { SLOT_TRANSITIONS, type SlotState } from '../../src/lifecycle/states.js';
import type { Outcome } from '../../src/protocol.js';
import { advance, type FakeWorker, fakePool, reloadSettings, resolvedApp } from '../helpers/fake-pool.js';
import { seeded } from '../helpers/seeded.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Every slot transition the runs went through. */
const reached = new Set<string>();
type End = readonly [number | null, NodeJS.Signals | null];
const ENDS: readonly End[] = [
  [0, null],
  [null, 'SIGTERM'],
  [null, 'SIGKILL'],
];
const EXITS: readonly End[] = [
  [0, null],
  [1, null],
  [null, 'SIGKILL'],
];
interface Request {
  what: string;
  answers: Outcome[];
}

/** One random run of `steps` events; throws, with the seed and the events so far, on a broken invariant. */
function fuzzRun(seed: number, steps: number): void {
  const random = seeded(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T | undefined => items[int(items.length)];
  const log: string[] = [];
  const base = resolvedApp();
  const settings = (version: number, instances: number): ResolvedApp =>
    resolvedApp({
      instances,
      env: { VERSION: String(version) },
      reload: reloadSettings({
        parallel: 1 + int(2),
        order: pick(['start-first', 'stop-first'] as const) ?? 'start-first',
      }),
      restart: {
        ...base.restart,
        policy: pick(['on-failure', 'always', 'on-failure'] as const) ?? 'on-failure',
        maxRestarts: int(4),
        stableAfter: pick([0, 300, 10_000]) ?? 0,
      },
      readyTimeout: 2_000,
      shutdown: { signal: 'SIGTERM', timeout: 1_000, delay: 0, spread: 0 },
      guards: { ...base.guards, recycle: { maxAge: null, cron: '0 * * * *', timezone: null, jitter: 0 } },
    });
  let version = 1;
  const gone = new Set<FakeWorker>();
  const exit = (worker: FakeWorker, code: number | null, signal: NodeJS.Signals | null) => {
    if (gone.has(worker)) return;
    gone.add(worker);
    worker.exit(code, signal);
  };
  // A drained worker exits a while later, as its stop (stop.ts) makes it do: by itself or by SIGKILL.
  const t = fakePool(settings(version, 1 + int(3)), {
    onDrain: (worker) => {
      const [code, signal] = pick(ENDS) ?? [0, null];
      setTimeout(() => exit(worker, code, signal), int(1_200));
    },
  });
  const requests: Request[] = [];
  const ask = (what: string) => {
    const request: Request = { what, answers: [] };
    requests.push(request);
    return (outcome: Outcome) => request.answers.push(outcome);
  };
  const fail = (message: string): never => {
    throw new Error(`seed ${seed}: ${message}\nevents:\n  ${log.slice(-40).join('\n  ')}`);
  };

  const check = () => {
    const view = t.pool.view();
    const held = new Set<unknown>();
    for (const slot of view.slots) {
      const name = `slot ${slot.id} (${slot.state})`;
      if ((slot.state === 'replacing') !== (slot.successor !== null))
        fail(`${name}: replacing iff it has a successor, successor ${slot.successor?.pid}`);
      if ((slot.state === 'serving' || slot.state === 'replacing') && slot.worker === null)
        fail(`${name}: serves without a worker`);
      // Recreating (stop-first): first its old worker drains, held until it exits; then its replacement.
      if (slot.state === 'recreating' && slot.next !== null && !slot.worker?.lifecycle.is('draining'))
        fail(`${name}: waits for its old worker to exit, which is ${slot.worker?.lifecycle.state ?? 'none'}`);
      for (const worker of [slot.worker, slot.successor]) {
        if (!worker) continue;
        if (held.has(worker)) fail(`${name}: worker ${worker.pid} held twice`);
        held.add(worker);
        const fake = t.forks.find((f) => f.pid === worker.pid);
        if (!worker.alive || (fake && gone.has(fake)))
          fail(`${name}: holds worker ${worker.pid}, which exited`);
      }
    }
    const serving = view.workers.filter((w) => !w.lifecycle.is('draining')).length;
    if (serving > 2 * view.slots.length)
      fail(`${serving} workers not draining for ${view.slots.length} slots`);
    for (const request of requests)
      if (request.answers.length > 1) fail(`${request.what} answered ${request.answers.length} times`);
    const reported = t.sent.filter(
      (m) => m.type === 'worker' && m.transition.from === null && m.transition.pid !== null,
    ).length;
    if (reported !== t.forks.length) fail(`${t.forks.length} forks, ${reported} reported`);
  };

  t.pool.start(ask('start'));
  log.push('start');
  check();
  for (let step = 0; step < steps; step++) {
    const live = t.forks.filter((w) => !gone.has(w));
    const roll = int(1_000) / 10;
    if (roll < 25) {
      const worker = pick(live);
      if (worker) {
        log.push(`ready ${worker.pid} (slot ${worker.slot})`);
        worker.ready();
      }
    } else if (roll < 45) {
      const worker = pick(live);
      const [code, signal] = pick(EXITS) ?? [1, null];
      if (worker) {
        log.push(`exit ${worker.pid} (slot ${worker.slot}) ${code ?? signal}`);
        exit(worker, code, signal);
      }
    } else if (roll < 70) {
      const ms = pick([0, 1, 50, 100, 250, 1_000, 2_000, 5_000]) ?? 0;
      log.push(`advance ${ms}`);
      advance(ms);
    } else if (roll < 79) {
      const next = random() < 0.6 ? settings(++version, 1) : null;
      log.push(`reload ${next ? `v${version}` : '(watch)'}`);
      t.pool.reload(next, ask(`reload ${step}`));
    } else if (roll < 86) {
      const instances = 1 + int(4);
      log.push(`scale ${instances}`);
      t.pool.scale(instances, ask(`scale ${step}`));
    } else if (roll < 92) {
      log.push('guard: recycle time');
      for (const cron of t.crons) if (!cron.stopped) cron.fire();
    } else if (roll < 95) {
      log.push('next fork fails');
      t.failNextFork(new Error('spawn E2BIG'));
    } else if (roll < 99.7) {
      log.push('a quiet moment');
      advance(20);
    } else if (roll < 99.85) {
      log.push('stop');
      t.pool.stop(ask(`stop ${step}`));
    } else {
      log.push('kill');
      t.pool.kill(ask(`kill ${step}`));
    }
    check();
  }

  // Liveness: once every worker gets ready and time passes, every request made so far is answered
  // (a reload waiting forever for a worker that is gone would be answered only by the stop).
  log.push('every worker gets ready, time passes');
  for (let round = 0; round < 20; round++) {
    for (const worker of t.forks) if (!gone.has(worker)) worker.ready();
    advance(1_000);
    check();
  }
  for (const request of requests)
    if (request.answers.length !== 1)
      fail(`${request.what} answered ${request.answers.length} times before the stop`);

  // The end: stop, every worker exits, and every request has had exactly one answer.
  log.push('final stop');
  t.pool.stop(ask('final stop'));
  for (let round = 0; round < 100 && t.forks.some((w) => !gone.has(w)); round++) {
    advance(2_000);
    check();
  }
  advance(60_000);
  check();
  for (const m of t.sent) if (m.type === 'slot') reached.add(`${m.from} -> ${m.to}`);
  if (t.forks.some((w) => !gone.has(w))) fail('workers still alive after the stop');
  if (!['stopped', 'errored'].includes(t.pool.appState)) fail(`the app ended ${t.pool.appState}`);
  for (const request of requests)
    if (request.answers.length !== 1) fail(`${request.what} answered ${request.answers.length} times`);
}

describe('pool: random runs keep the invariants', () => {
  it('300 seeds x 200 events', () => {
    const only = process.env.FUZZ_SEED;
    const seeds = only ? [Number(only)] : Array.from({ length: 300 }, (_, i) => i + 1);
    for (const seed of seeds) {
      vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
      fuzzRun(seed, 200);
      vi.clearAllTimers();
    }
    if (only) return;
    // Runs that never reach a transition could not find what is wrong with it.
    const table = Object.entries(SLOT_TRANSITIONS) as [SlotState, readonly SlotState[]][];
    const all = table.flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`));
    expect(all.filter((transition) => !reached.has(transition))).toEqual([]);
  });
});
