// A property test of leader-step.ts: random runs over fake workers and fake time (workers forked, asking
// for leadership before or after they are ready or never, ready, draining, crashing; a revoked leader
// that answers in time, late, or never; kills that take a while to be seen), each effect carried out as
// the driver would, with the properties checked after every event:
// - never two leaders: a grant only once every earlier holder is fenced (its answer to its revoke, or
//   its exit), and only to a live, ready, not draining worker that asked;
// - a leader exists whenever a candidate is ready and no fence is pending;
// - a fence takes no longer than the leader's stop timeout and the time its exit takes to be seen;
// - a drain is held only while its worker holds leadership, and released only after its answer.
// Every transition of the leader's table is reached over the runs. A failure names its seed; FUZZ_SEED=
// <seed> replays that one run alone.
import { describe, expect, it } from 'vitest';
import {
  holdsDrain,
  initialLeader,
  LEADER_TRANSITIONS,
  type LeaderEffect,
  type LeaderEvent,
  type LeaderSnapshot,
  leaderStep,
} from '../../src/primary/leader/leader-step.js';
import { fakeTime } from '../helpers/fake-time.js';
import { seeded } from '../helpers/seeded.js';

const STOP_TIMEOUT = 1_000;
/** The longest a SIGKILLed worker's exit takes to be seen (the driver's exit handling). */
const EXIT_SEEN = 300;

interface Fake {
  pid: number;
  alive: boolean;
  wants: boolean;
  ready: boolean;
  draining: boolean;
  /** The term its stop handlers answered, once they have. */
  answered: number | null;
  /** The order it became ready in. */
  readyAt: number;
  /** Its drain waits for its stop handlers (the driver's hold). */
  held: boolean;
}

const reached = new Set<string>();

function fuzzRun(seed: number, steps: number): void {
  const random = seeded(seed);
  const int = (n: number) => Math.floor(random() * n);
  const time = fakeTime();
  const log: string[] = [];
  const workers = new Map<number, Fake>();
  let nextPid = 1;
  let readyCount = 0;
  let snapshot: LeaderSnapshot = initialLeader;
  /** Granted, not yet fenced: pid -> term. Never more than one. */
  const unfenced = new Map<number, number>();
  /** When each pending fence began (a revoke sent, for its pid). */
  const revokedAt = new Map<number, number>();
  const timers = new Map<number, () => void>();

  const fail = (what: string): never => {
    throw new Error(`seed ${seed}: ${what}\n${log.slice(-25).join('\n')}`);
  };
  const candidates = () => [...workers.values()].filter((w) => w.alive && w.wants && w.ready && !w.draining);

  const fenced = (pid: number) => {
    const began = revokedAt.get(pid);
    if (began !== undefined && time.now() - began > STOP_TIMEOUT + EXIT_SEEN)
      fail(`the fence of ${pid} took ${time.now() - began} ms`);
    revokedAt.delete(pid);
    unfenced.delete(pid);
  };

  const dispatch = (event: LeaderEvent) => {
    const from = snapshot.holder?.phase ?? 'none';
    log.push(`${time.now()} ${JSON.stringify(event)}`);
    const step = leaderStep(snapshot, event);
    snapshot = step.snapshot;
    // Fences the event makes, before the grants it carries.
    if (event.type === 'exited') fenced(event.pid);
    if (event.type === 'stopped' && step.effects.some((e) => e.type === 'release')) fenced(event.pid);
    const to = snapshot.holder?.phase ?? 'none';
    const granted = step.effects.some((e) => e.type === 'grant');
    const hops: [string, string][] = granted
      ? from === 'none'
        ? [['none', 'held']]
        : [
            [from, 'none'],
            ['none', 'held'],
          ]
      : from === to
        ? []
        : [[from, to]];
    for (const [a, b] of hops) {
      if (!(LEADER_TRANSITIONS as Record<string, readonly string[]>)[a]?.includes(b))
        fail(`an illegal transition ${a} -> ${b}`);
      reached.add(`${a} -> ${b} (${event.type})`);
    }
    for (const effect of step.effects) perform(effect);
    // Whether a drain is held is checked between events: the pool asks for the drain after the event.
    check(false);
  };

  const perform = (effect: LeaderEffect) => {
    log.push(`  -> ${JSON.stringify(effect)}`);
    const w = workers.get(effect.pid);
    switch (effect.type) {
      case 'grant':
        if (unfenced.size > 0) fail(`granted ${effect.pid} while ${[...unfenced.keys()]} is not fenced`);
        if (!w?.alive || !w.wants || !w.ready || w.draining)
          return fail(`granted ${effect.pid}, not a candidate`);
        // The newest candidate: a reload's leader hands over to a worker that reload will not drain.
        if (Math.max(...candidates().map((c) => c.readyAt)) !== w.readyAt)
          fail(`granted ${effect.pid}, not the newest`);
        unfenced.set(effect.pid, effect.term);
        return;
      case 'revoke': {
        if (unfenced.get(effect.pid) !== effect.term) fail(`revoked ${effect.pid} that does not hold it`);
        revokedAt.set(effect.pid, time.now());
        // Its stop handlers: in time, late (after the timeout), or never.
        const answer = [int(STOP_TIMEOUT), STOP_TIMEOUT + 1 + int(500), null][int(3)];
        if (answer !== null && answer !== undefined)
          time.fx.timer(answer, () => {
            if (!w?.alive) return;
            w.answered = effect.term;
            dispatch({ type: 'stopped', pid: effect.pid, term: effect.term });
          });
        return;
      }
      case 'schedule':
        if (effect.ms !== STOP_TIMEOUT) fail('a timeout other than the stop timeout');
        timers.set(
          effect.pid,
          time.fx.timer(effect.ms, () => {
            timers.delete(effect.pid);
            dispatch({ type: 'timeout', pid: effect.pid, term: effect.term });
          }),
        );
        return;
      case 'cancel':
        timers.get(effect.pid)?.();
        timers.delete(effect.pid);
        return;
      case 'kill':
        if (!revokedAt.has(effect.pid)) fail(`killed ${effect.pid}, never revoked`);
        if (time.now() - (revokedAt.get(effect.pid) ?? 0) < STOP_TIMEOUT) fail('killed before the timeout');
        time.fx.timer(1 + int(EXIT_SEEN - 1), () => exit(effect.pid));
        return;
      case 'release':
        if (!w?.held && w?.draining !== true) fail(`released ${effect.pid}, which does not drain`);
        if (w?.answered === null) fail(`released ${effect.pid} before its answer`);
        if (w) w.held = false;
        // Its drain goes on: it exits a while later.
        time.fx.timer(int(200), () => exit(effect.pid));
        return;
      case 'report':
        return;
    }
  };

  const check = (held = true) => {
    if (unfenced.size > 1) fail('two leaders');
    if (unfenced.size === 0 && candidates().length > 0) fail('no leader while a candidate is ready');
    if (held)
      for (const w of workers.values())
        if (w.alive && w.held !== holdsDrain(snapshot, w.pid) && w.draining)
          fail(`the drain of ${w.pid} is ${w.held ? '' : 'not '}held, against the step`);
  };

  const exit = (pid: number) => {
    const w = workers.get(pid);
    if (!w?.alive) return;
    w.alive = false;
    dispatch({ type: 'exited', pid });
  };

  const live = () => [...workers.values()].filter((w) => w.alive);
  const pickLive = (filter: (w: Fake) => boolean) => {
    const some = live().filter(filter);
    return some[int(some.length)];
  };

  for (let i = 0; i < steps; i++) {
    const roll = int(10);
    if (roll === 0 || live().length === 0) {
      const pid = nextPid++;
      workers.set(pid, {
        pid,
        alive: true,
        wants: false,
        ready: false,
        readyAt: 0,
        draining: false,
        answered: null,
        held: false,
      });
    } else if (roll <= 2) {
      const w = pickLive((x) => !x.wants && random() < 0.85);
      if (w) {
        w.wants = true;
        dispatch({ type: 'wants', pid: w.pid, stopTimeout: STOP_TIMEOUT });
      }
    } else if (roll <= 4) {
      const w = pickLive((x) => !x.ready && !x.draining);
      if (w) {
        w.ready = true;
        w.readyAt = ++readyCount;
        dispatch({ type: 'ready', pid: w.pid, stopTimeout: STOP_TIMEOUT });
      }
    } else if (roll === 5) {
      const w = pickLive((x) => !x.draining);
      if (w) {
        w.draining = true;
        dispatch({ type: 'draining', pid: w.pid });
        // The pool asks for its drain right after the transition: held if it leads.
        w.held = holdsDrain(snapshot, w.pid);
        if (!w.held) time.fx.timer(int(300), () => exit(w.pid));
        check();
      }
    } else if (roll === 6) {
      const w = pickLive(() => true);
      if (w) exit(w.pid);
    } else {
      time.advance(int(400));
      check();
    }
  }
  // The end: time enough for every fence, and the properties once more.
  time.advance(STOP_TIMEOUT + EXIT_SEEN + 500);
  check();
  if (revokedAt.size > 0) fail(`fences still pending: ${[...revokedAt.keys()]}`);
}

describe('leader step, random runs', () => {
  const only = process.env.FUZZ_SEED;
  it('keeps one leader at most, one whenever a candidate is ready, and fences within the bound', () => {
    if (only) {
      fuzzRun(Number(only), 400);
      return;
    }
    for (let seed = 1; seed <= 300; seed++) fuzzRun(seed, 400);
    expect([...reached].sort()).toEqual(
      [
        'none -> held (wants)',
        'none -> held (ready)',
        'none -> held (stopped)',
        'none -> held (exited)',
        'held -> revoking (draining)',
        'held -> none (exited)',
        'revoking -> none (stopped)',
        'revoking -> none (exited)',
        'revoking -> killing (timeout)',
        'killing -> none (exited)',
      ].sort(),
    );
  });
});
