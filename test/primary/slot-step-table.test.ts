// The slot's step function against its transition table: every event from every state it can be in,
// with what must hold whatever the event (the unit tests of each case are slot-step.test.ts).
import { describe, expect, it } from 'vitest';
import { SLOT_TRANSITIONS } from '../../src/lifecycle/states.js';
import { type SlotEvent, slotStep } from '../../src/primary/pool/slot-step.js';
import {
  backoff,
  context,
  crash,
  finished,
  recreated,
  recreating,
  replacing,
  restarting,
  serving,
  starting,
  through,
  v2,
  type W,
} from '../helpers/slot-histories.js';

describe('slot step: every event from every state', () => {
  const states: Record<string, SlotEvent<W>[]> = {
    starting,
    serving,
    replacing,
    backoff,
    restarting,
    finished,
    'recreating (its old worker drains)': recreating,
    'recreating (its replacement starts)': recreated,
    removed: [...serving, { type: 'remove', reason: 'stop requested' }],
  };
  const events: SlotEvent<W>[] = [
    { type: 'ready', worker: 'w1' },
    { type: 'ready', worker: 'w2' },
    { type: 'ready', worker: 's1' },
    crash('w1'),
    crash('w2'),
    crash('s1'),
    crash('w1', { code: 0 }),
    { type: 'exited', worker: 'w1', exit: null, reason: 'stopped' },
    { type: 'exited', worker: 's1', exit: null, reason: 'stopped' },
    { type: 'backoff-over' },
    { type: 'replace', by: 'a rolling reload', app: v2 },
    { type: 'promote', successor: 's1', by: 'a rolling reload' },
    { type: 'roll-back', successor: 's1' },
    { type: 'remove', reason: 'scaled down' },
    { type: 'app-errored' },
    { type: 'new-budget' },
  ];
  // The only inputs the step refuses: a reload reaching a slot it cannot reach (runs never overlap).
  const refused = (state: string, event: SlotEvent<W>) =>
    event.type === 'replace' && (state === 'replacing' || state === 'removed');

  for (const [state, history] of Object.entries(states)) {
    it(`from ${state}: allowed transitions only, replacing iff a successor, a fork for each worker missing`, () => {
      const before = through(history).snapshot;
      expect(before.state).toBe(state.split(' ')[0]);
      for (const event of events) {
        if (refused(state, event)) {
          expect(() => slotStep(before, event, context())).toThrow(/a reload reached it/);
          continue;
        }
        const { snapshot, effects } = slotStep(before, event, context());
        const what = `${state} + ${JSON.stringify(event).slice(0, 60)}`;
        let at = before.state;
        for (const effect of effects) {
          if (effect.type !== 'report' || effect.message.type !== 'slot') continue;
          expect(effect.message.from, what).toBe(at);
          expect(SLOT_TRANSITIONS[at], what).toContain(effect.message.to);
          at = effect.message.to;
        }
        expect(at, what).toBe(snapshot.state);
        // A fork is asked for exactly when the step let a worker go that the slot must have again.
        const forks = effects.filter((e) => e.type === 'fork');
        if (snapshot.state === 'replacing') {
          expect(snapshot.successor !== null || forks.some((f) => f.role === 'successor'), what).toBe(true);
        } else expect(snapshot.successor, what).toBeNull();
        // (A held worker stopped as asked is the one exception: the step never asks that of one it holds.)
        const serves = snapshot.state === 'serving' || snapshot.state === 'replacing';
        if (serves && !(event.type === 'exited' && event.exit === null))
          expect(snapshot.worker, what).not.toBeNull();
        // Recreating holds a worker (the old one, then its replacement) but in the step that let it go.
        if (snapshot.state === 'recreating' && snapshot.worker === null) expect(forks.length, what).toBe(1);
        if (snapshot.state === 'removed') expect([snapshot.worker, forks.length], what).toEqual([null, 0]);
        if (snapshot.state === 'backoff') expect(snapshot.restartIn, what).not.toBeNull();
        else expect(snapshot.restartIn, what).toBeNull();
      }
    });
  }
});
