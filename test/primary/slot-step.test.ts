// The slot's step function alone, without a pool, processes or timers: each event from each state it
// can meet, with the snapshot that follows and the effects asserted as data. Workers are plain strings.
import { describe, expect, it } from 'vitest';
import { createSlot, type SlotEvent, slotStep } from '../../src/primary/pool/slot-step.js';
import {
  backoff,
  context,
  crash,
  fields,
  finished,
  ready,
  replacing,
  restarting,
  serving,
  slotMsg,
  starting,
  through,
  v1,
  v2,
  type W,
} from '../helpers/slot-histories.js';

describe('slot step: a new slot and its worker', () => {
  it('starts by forking its first worker on the settings given', () => {
    const { snapshot, effects } = createSlot<W>(3, v1);
    expect(snapshot).toMatchObject({ id: 3, state: 'starting', worker: null, successor: null });
    expect(effects).toEqual([{ type: 'fork', role: 'worker', app: v1 }]);
  });

  it('holds the forked worker, and serves once it is ready', () => {
    expect(through(starting).snapshot.worker).toBe('w1');
    const { snapshot, effects } = through(serving);
    expect(fields(snapshot)).toMatchObject({ state: 'serving', worker: 'w1', lastExit: null });
    expect(effects).toEqual([slotMsg('starting', 'serving')]);
  });

  it('serves again once a restarted worker is ready, and forgets why the last one ended', () => {
    const { snapshot, effects } = slotStep(
      through(restarting).snapshot,
      { type: 'ready', worker: 'w2' },
      context(),
    );
    expect(fields(snapshot)).toMatchObject({
      state: 'serving',
      worker: 'w2',
      lastExit: null,
      failedStarts: 1,
    });
    expect(effects).toEqual([slotMsg('restarting', 'serving')]);
  });

  it('ignores the readiness of a worker it does not serve with (a successor, a stranger)', () => {
    for (const worker of ['s1', 'other']) {
      const before = through(replacing).snapshot;
      const { snapshot, effects } = slotStep(before, { type: 'ready', worker }, context());
      expect(effects).toEqual([]);
      expect(fields(snapshot)).toEqual(fields(before));
    }
  });

  it('refuses a successor forked when it is not replacing', () => {
    expect(() => through([...serving, { type: 'forked', role: 'successor', worker: 's1' }])).toThrow(
      /a successor forked while serving/,
    );
  });

  it('is pure: the snapshot given is not changed, and the one returned is frozen', () => {
    const before = through(serving).snapshot;
    const copy = fields(before);
    const { snapshot } = slotStep(before, crash('w1'), context());
    expect(fields(before)).toEqual(copy);
    expect(Object.isFrozen(snapshot)).toBe(true);
    expect(() => {
      (snapshot as { state: string }).state = 'serving';
    }).toThrow();
  });
});

describe('slot step: exits and the restart policy', () => {
  it('schedules a restart of a crashed worker: backoff, the delay reported, and the reload told', () => {
    const { snapshot, effects } = through(backoff);
    expect(fields(snapshot)).toMatchObject({
      state: 'backoff',
      worker: null,
      failedStarts: 1,
      restartIn: 100,
      lastExit: 'exit code 1',
    });
    expect(effects).toEqual([
      slotMsg('serving', 'backoff', 'exit code 1'),
      { type: 'report', message: { type: 'backoff', worker: 0, delay: 100, failedStarts: 1 } },
      { type: 'schedule', delay: 100 },
      { type: 'lost', worker: 'w1', reason: 'exit code 1' },
    ]);
  });

  it('restarts when the backoff is over, on its own settings', () => {
    const { snapshot, effects } = slotStep(
      through(backoff, v2).snapshot,
      { type: 'backoff-over' },
      context(),
    );
    expect(fields(snapshot)).toMatchObject({ state: 'restarting', restartIn: null });
    expect(effects).toEqual([
      slotMsg('backoff', 'restarting', 'backoff over'),
      { type: 'fork', role: 'worker', app: v2 },
    ]);
  });

  it('ignores a backoff that fires after it was cancelled', () => {
    for (const events of [serving, replacing, finished, restarting]) {
      expect(slotStep(through(events).snapshot, { type: 'backoff-over' }, context()).effects).toEqual([]);
    }
  });

  it('finishes on a clean exit under on-failure', () => {
    const { snapshot, effects } = through(finished);
    expect(snapshot.state).toBe('finished');
    expect(effects).toEqual([
      slotMsg('serving', 'finished', 'exit code 0, a clean exit (restart policy is on-failure)'),
      { type: 'lost', worker: 'w1', reason: 'exit code 0' },
    ]);
  });

  it('gives the app up at the crash-loop limit', () => {
    const strict = { ...v1.restart, maxRestarts: 0 };
    const { snapshot, effects } = through(
      [...starting, crash('w1', { ready: false })],
      v1,
      context('running', strict),
    );
    const reason = 'exit code 1; 1 failed start in a row (restart.maxRestarts 0)';
    expect(snapshot.state).toBe('finished');
    expect(effects).toEqual([
      slotMsg('starting', 'finished', reason),
      { type: 'give-up', reason },
      { type: 'lost', worker: 'w1', reason: 'exit code 1' },
    ]);
  });

  it('restarts nothing more in an errored app, and nothing at all in a stopping one', () => {
    const errored = slotStep(through(serving).snapshot, crash('w1'), context('errored'));
    expect(errored.snapshot.state).toBe('finished');
    expect(errored.effects.map((e) => e.type)).toEqual(['report', 'lost']);
    const stopping = slotStep(through(serving).snapshot, crash('w1'), context('stopping'));
    expect(fields(stopping.snapshot)).toMatchObject({ state: 'serving', worker: null });
    expect(stopping.effects).toEqual([{ type: 'lost', worker: 'w1', reason: 'exit code 1' }]);
  });

  it('lets go of a worker stopped as asked, deciding nothing', () => {
    const { snapshot, effects } = slotStep(
      through(serving).snapshot,
      { type: 'exited', worker: 'w1', exit: null, reason: 'exit code 0' },
      context(),
    );
    expect(fields(snapshot)).toMatchObject({ worker: null, lastExit: null });
    expect(effects).toEqual([]);
  });

  it('ignores the exit of a worker it does not hold', () => {
    expect(slotStep(through(serving).snapshot, crash('other'), context()).effects).toEqual([]);
  });

  it('cancels its restart and finishes when the app errors; other states stay', () => {
    const { snapshot, effects } = slotStep(through(backoff).snapshot, { type: 'app-errored' }, context());
    expect(fields(snapshot)).toMatchObject({ state: 'finished', restartIn: null });
    expect(effects).toEqual([{ type: 'cancel' }, slotMsg('backoff', 'finished', 'the app errored')]);
    for (const events of [serving, replacing, restarting, finished])
      expect(slotStep(through(events).snapshot, { type: 'app-errored' }, context()).effects).toEqual([]);
  });

  it('starts its count over with a new budget', () => {
    const { snapshot, effects } = slotStep(through(backoff).snapshot, { type: 'new-budget' }, context());
    expect(snapshot.failedStarts).toBe(0);
    expect(effects).toEqual([]);
  });
});

describe('slot step: reloads', () => {
  it('gives a serving slot a successor on the reload settings', () => {
    const step = through(replacing);
    expect(fields(step.snapshot)).toMatchObject({
      state: 'replacing',
      worker: 'w1',
      successor: 's1',
      V: '1',
      next: '2',
    });
    const replace = through(serving).snapshot;
    expect(
      slotStep(replace, { type: 'replace', by: 'the memory guard', app: null }, context()).effects,
    ).toEqual([
      slotMsg('serving', 'replacing', 'the memory guard'),
      { type: 'fork', role: 'successor', app: v1 },
    ]);
  });

  it('restarts a slot that does not serve at once, on the reload settings', () => {
    const cases: [SlotEvent<W>[], unknown[]][] = [
      [backoff, [{ type: 'cancel' }, slotMsg('backoff', 'restarting', 'rolling reload')]],
      [starting, [{ type: 'drain', worker: 'w1', reason: 'replaced by a rolling reload' }]],
      [restarting, [{ type: 'drain', worker: 'w2', reason: 'replaced by a rolling reload' }]],
      [finished, [slotMsg('finished', 'starting', 'rolling reload')]],
    ];
    for (const [events, first] of cases) {
      const { snapshot, effects } = slotStep(
        through(events).snapshot,
        { type: 'replace', by: 'a rolling reload', app: v2 },
        context(),
      );
      expect(effects).toEqual([...first, { type: 'fork', role: 'worker', app: v2 }]);
      expect(fields(snapshot)).toMatchObject({ worker: null, restartIn: null, V: '2' });
    }
  });

  it('refuses a reload reaching a slot already replacing, or removed', () => {
    const replace: SlotEvent<W> = { type: 'replace', by: 'a rolling reload', app: v2 };
    expect(() => slotStep(through(replacing).snapshot, replace, context())).toThrow(/while replacing/);
    const removed = through([...serving, { type: 'remove', reason: 'stop requested' }]).snapshot;
    expect(() => slotStep(removed, replace, context())).toThrow(/while removed/);
  });

  it('promotes its successor: the old worker drains, the new settings are the slot own, the count starts over', () => {
    const before = through([
      ...backoff,
      { type: 'replace', by: 'x', app: v1 },
      { type: 'forked', role: 'worker', worker: 'w2' },
      { type: 'ready', worker: 'w2' },
      ...replacing.slice(2),
    ]);
    expect(before.snapshot.failedStarts).toBe(1);
    const { snapshot, effects } = slotStep(
      before.snapshot,
      { type: 'promote', successor: 's1', by: 'a rolling reload' },
      context(),
    );
    expect(fields(snapshot)).toMatchObject({
      state: 'serving',
      worker: 's1',
      successor: null,
      failedStarts: 0,
      V: '2',
      next: null,
    });
    expect(effects).toEqual([
      slotMsg('replacing', 'serving', 'promoted'),
      { type: 'drain', worker: 'w2', reason: 'replaced by a rolling reload' },
    ]);
  });

  it('rolls back the same way whether its successor died or the reload failed elsewhere', () => {
    const died = slotStep(through(replacing).snapshot, crash('s1'), context());
    const rolled = slotStep(through(replacing).snapshot, { type: 'roll-back', successor: 's1' }, context());
    for (const { snapshot } of [died, rolled])
      expect(fields(snapshot)).toMatchObject({
        state: 'serving',
        worker: 'w1',
        successor: null,
        V: '1',
        next: null,
        failedStarts: 0,
      });
    expect(died.effects).toEqual([
      slotMsg('replacing', 'serving', 'reload failed'),
      { type: 'lost', worker: 's1', reason: 'exit code 1' },
    ]);
    expect(rolled.effects).toEqual([
      slotMsg('replacing', 'serving', 'reload failed'),
      { type: 'drain', worker: 's1', reason: 'reload failed' },
    ]);
  });

  it('ignores a promotion or a rollback of a worker that is not its successor', () => {
    for (const event of [
      { type: 'promote', successor: 'other', by: 'x' },
      { type: 'roll-back', successor: 'other' },
    ] as SlotEvent<W>[])
      expect(slotStep(through(replacing).snapshot, event, context()).effects).toEqual([]);
  });

  it('hands the slot to its successor when the old worker dies: restarting until it is ready', () => {
    const { snapshot, effects } = slotStep(through(replacing).snapshot, crash('w1'), context());
    expect(fields(snapshot)).toMatchObject({
      state: 'restarting',
      worker: 's1',
      successor: null,
      V: '2',
      lastExit: 'exit code 1',
    });
    expect(effects).toEqual([
      slotMsg('replacing', 'restarting', 'exit code 1'),
      { type: 'took-over', worker: 's1' },
    ]);
    ready.add('s1');
    try {
      expect(slotStep(through(replacing).snapshot, crash('w1'), context()).snapshot.state).toBe('serving');
    } finally {
      ready.delete('s1');
    }
  });
});

describe('slot step: removal (scale-down, stop)', () => {
  it('drains what it holds, cancels its restart, and lets go of its workers', () => {
    const remove: SlotEvent<W> = { type: 'remove', reason: 'scaled down' };
    const fromReplacing = slotStep(through(replacing).snapshot, remove, context());
    expect(fields(fromReplacing.snapshot)).toMatchObject({
      state: 'removed',
      worker: null,
      successor: null,
      next: null,
    });
    expect(fromReplacing.effects).toEqual([
      slotMsg('replacing', 'removed', 'scaled down'),
      { type: 'drain', worker: 'w1', reason: 'scaled down' },
      { type: 'drain', worker: 's1', reason: 'scaled down' },
    ]);
    const fromBackoff = slotStep(through(backoff).snapshot, remove, context());
    expect(fromBackoff.effects).toEqual([{ type: 'cancel' }, slotMsg('backoff', 'removed', 'scaled down')]);
    expect(slotStep(fromBackoff.snapshot, remove, context()).effects).toEqual([]);
  });
});
