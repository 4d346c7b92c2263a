// The slot's step with `reload.order` "stop-first" (a program that binds a fixed port itself): its old
// worker drains first, the replacement is forked only once it has exited, and the slot serves nothing
// meanwhile. Workers are plain strings, as in slot-step.test.ts.
import { describe, expect, it } from 'vitest';
import { type SlotEvent, slotStep } from '../../src/primary/pool/slot-step.js';
import {
  context,
  crash,
  fields,
  recreated,
  recreating,
  serving,
  slotMsg,
  through,
  v2,
  v2StopFirst,
  type W,
} from '../helpers/slot-histories.js';

const DRAIN = 'replaced by a rolling reload (stop-first)';

describe('slot step: stop-first reloads', () => {
  it('drains the serving worker first, keeps it, and forks nothing yet', () => {
    const { snapshot, effects } = slotStep(
      through(serving).snapshot,
      { type: 'replace', by: 'a rolling reload', app: v2StopFirst },
      context(),
    );
    expect(fields(snapshot)).toMatchObject({
      state: 'recreating',
      worker: 'w1',
      successor: null,
      V: '1',
      next: '2',
    });
    expect(effects).toEqual([
      slotMsg('serving', 'recreating', 'a rolling reload'),
      { type: 'drain', worker: 'w1', reason: DRAIN },
    ]);
  });

  it('takes the order from the settings it reloads onto, or its own for a reload without settings', () => {
    const startFirst = slotStep(
      through(serving, v2StopFirst).snapshot,
      { type: 'replace', by: 'x', app: v2 },
      context(),
    );
    expect(startFirst.snapshot.state).toBe('replacing');
    const own = slotStep(
      through(serving, v2StopFirst).snapshot,
      { type: 'replace', by: 'x', app: null },
      context(),
    );
    expect(own.snapshot.state).toBe('recreating');
  });

  it('forks the replacement on the new settings once the old worker exits, drained or dead alike', () => {
    const exits: SlotEvent<W>[] = [
      { type: 'exited', worker: 'w1', exit: null, reason: 'stopped' },
      crash('w1'),
    ];
    for (const exit of exits) {
      const { snapshot, effects } = slotStep(through(recreating).snapshot, exit, context());
      expect(fields(snapshot)).toMatchObject({ state: 'recreating', worker: null, V: '2', next: null });
      expect(effects).toEqual([{ type: 'fork', role: 'worker', app: v2StopFirst }]);
    }
  });

  it('tells the reload which worker is the replacement, and serves once it is ready', () => {
    const forked = through(recreated.slice(0, -1)).snapshot;
    const fork = slotStep(forked, { type: 'forked', role: 'worker', worker: 'w2' }, context());
    expect(fork.effects).toEqual([{ type: 'recreated', worker: 'w2' }]);
    const { snapshot, effects } = slotStep(fork.snapshot, { type: 'ready', worker: 'w2' }, context());
    expect(fields(snapshot)).toMatchObject({ state: 'serving', worker: 'w2', V: '2', next: null });
    expect(effects).toEqual([slotMsg('recreating', 'serving')]);
  });

  it('ignores readiness while the old worker still drains (it was ready long ago)', () => {
    expect(
      slotStep(through(recreating).snapshot, { type: 'ready', worker: 'w1' }, context()).effects,
    ).toEqual([]);
  });

  it('restarts a replacement that dies by the restart policy, and fails the reload (no old worker to keep)', () => {
    const { snapshot, effects } = slotStep(through(recreated).snapshot, crash('w2'), context());
    expect(fields(snapshot)).toMatchObject({ state: 'backoff', worker: null, V: '2', failedStarts: 1 });
    expect(effects).toContainEqual({ type: 'lost', worker: 'w2', reason: 'exit code 1' });
    expect(effects[0]).toEqual(slotMsg('recreating', 'backoff', 'exit code 1'));
  });

  it('is taken over by the next reload when a failed one left it on its way', () => {
    const replace: SlotEvent<W> = { type: 'replace', by: 'a rolling reload', app: v2StopFirst };
    // Old worker still draining: the new settings wait for its exit too.
    const draining = slotStep(through(recreating).snapshot, replace, context());
    expect(draining.effects).toEqual([]);
    expect(fields(draining.snapshot)).toMatchObject({ state: 'recreating', worker: 'w1', next: '2' });
    // Its replacement starting: that one drains first, as the old worker did.
    const starting = slotStep(through(recreated).snapshot, replace, context());
    expect(starting.effects).toEqual([{ type: 'drain', worker: 'w2', reason: DRAIN }]);
    expect(fields(starting.snapshot)).toMatchObject({ state: 'recreating', worker: 'w2', next: '2' });
  });

  it('removed (stop, scale-down): drains what it holds and starts nothing when it exits', () => {
    const removed = slotStep(
      through(recreating).snapshot,
      { type: 'remove', reason: 'stop requested' },
      context(),
    );
    expect(fields(removed.snapshot)).toMatchObject({ state: 'removed', worker: null, next: null });
    expect(slotStep(removed.snapshot, crash('w1'), context()).effects).toEqual([]);
  });
});
