import { describe, expect, it } from 'vitest';
import {
  assertTransition,
  Lifecycle,
  TransitionError,
  type Transitions,
  terminalStates,
} from '../../src/lifecycle/machine.js';
import {
  APP_STATES,
  APP_TRANSITIONS,
  type AppState,
  deriveAppState,
  PRIMARY_STATES,
  PRIMARY_TRANSITIONS,
  SLOT_STATES,
  SLOT_TRANSITIONS,
  WORKER_STATES,
  WORKER_TRANSITIONS,
} from '../../src/lifecycle/states.js';

// Every pair of states: allowed exactly when listed.
function checkTable<S extends string>(
  machine: string,
  states: readonly S[],
  table: Transitions<S>,
  allowed: [S, S][],
) {
  expect(Object.keys(table).sort()).toEqual([...states].sort());
  for (const from of states) {
    for (const to of states) {
      const listed = allowed.some(([a, b]) => a === from && b === to);
      if (listed) expect(() => assertTransition(machine, table, from, to)).not.toThrow();
      else
        expect(() => assertTransition(machine, table, from, to), `${from} -> ${to}`).toThrow(TransitionError);
    }
  }
}

describe('lifecycle tables', () => {
  it('worker: starting -> ready -> draining -> stopped, crashed before draining or when not ready in time', () => {
    checkTable('worker', WORKER_STATES, WORKER_TRANSITIONS, [
      ['starting', 'ready'],
      ['starting', 'draining'],
      ['starting', 'exited'],
      ['starting', 'crashed'],
      ['ready', 'draining'],
      ['ready', 'exited'],
      ['ready', 'crashed'],
      ['draining', 'stopped'],
      // Stopped for not getting ready within readyTimeout: its exit is a failed start.
      ['draining', 'crashed'],
    ]);
    expect(terminalStates(WORKER_TRANSITIONS).sort()).toEqual(['crashed', 'exited', 'stopped']);
  });

  it('slot: replacing only from serving; removed is the only end', () => {
    checkTable('slot', SLOT_STATES, SLOT_TRANSITIONS, [
      ['starting', 'serving'],
      ['starting', 'backoff'],
      ['starting', 'finished'],
      ['starting', 'removed'],
      ['serving', 'replacing'],
      ['serving', 'recreating'],
      ['serving', 'backoff'],
      ['serving', 'finished'],
      ['serving', 'removed'],
      ['replacing', 'serving'],
      ['replacing', 'restarting'],
      ['replacing', 'removed'],
      ['recreating', 'serving'],
      ['recreating', 'backoff'],
      ['recreating', 'finished'],
      ['recreating', 'removed'],
      ['backoff', 'restarting'],
      ['backoff', 'finished'],
      ['backoff', 'removed'],
      ['restarting', 'serving'],
      ['restarting', 'backoff'],
      ['restarting', 'finished'],
      ['restarting', 'removed'],
      ['finished', 'starting'],
      ['finished', 'removed'],
    ]);
    expect(terminalStates(SLOT_TRANSITIONS)).toEqual(['removed']);
  });

  it('app: stopped is the end of every app; an errored app starts again only through a reload', () => {
    for (const from of APP_STATES) {
      if (from !== 'stopped')
        expect(() => assertTransition('app', APP_TRANSITIONS, from, 'stopped')).not.toThrow();
    }
    expect(terminalStates(APP_TRANSITIONS)).toEqual(['stopped']);
    expect(() => assertTransition('app', APP_TRANSITIONS, 'errored', 'running')).toThrow(
      'invalid app transition errored -> running',
    );
    expect(() => assertTransition('app', APP_TRANSITIONS, 'errored', 'starting')).not.toThrow();
    expect(() => assertTransition('app', APP_TRANSITIONS, 'stopping', 'running')).toThrow();
  });

  it('primary: a dead primary is restarted or ends; stopping and exiting end', () => {
    checkTable('primary', PRIMARY_STATES, PRIMARY_TRANSITIONS, [
      ['spawning', 'running'],
      ['spawning', 'stopping'],
      ['spawning', 'backoff'],
      ['spawning', 'errored'],
      ['running', 'exiting'],
      ['running', 'stopping'],
      ['running', 'backoff'],
      ['running', 'errored'],
      ['exiting', 'stopped'],
      ['exiting', 'errored'],
      ['backoff', 'spawning'],
      ['backoff', 'stopped'],
      ['backoff', 'errored'],
      ['stopping', 'stopped'],
    ]);
    expect(terminalStates(PRIMARY_TRANSITIONS).sort()).toEqual(['errored', 'stopped']);
  });
});

describe('Lifecycle', () => {
  it('emits one event per transition, none for staying, and refuses what its table does not list', () => {
    const events: string[] = [];
    const life = new Lifecycle('slot', SLOT_TRANSITIONS, 'starting', (from, to, { reason }) =>
      events.push(`${from}->${to}${reason ? ` (${reason})` : ''}`),
    );
    life.to('serving');
    life.to('serving');
    life.to('backoff', { reason: 'exit code 1' });
    expect(() => life.to('replacing')).toThrow('invalid slot transition backoff -> replacing');
    expect(life.state).toBe('backoff');
    expect(events).toEqual(['starting->serving', 'serving->backoff (exit code 1)']);
  });
});

describe('deriveAppState', () => {
  const cases: [AppState, Parameters<typeof deriveAppState>[1], number, AppState][] = [
    ['starting', ['starting', 'serving'], 2, 'starting'],
    ['starting', ['serving', 'serving'], 2, 'running'],
    ['starting', ['backoff', 'serving'], 1, 'backoff'],
    // A scale-up's new slot does not make a running app less running...
    ['running', ['serving', 'starting'], 2, 'running'],
    // ... but a slot that lost its worker does, until it serves again.
    ['running', ['serving', 'restarting'], 2, 'backoff'],
    ['backoff', ['serving', 'restarting'], 2, 'backoff'],
    ['backoff', ['serving', 'serving'], 2, 'running'],
    // A new start after errored starts until every slot served.
    ['starting', ['restarting', 'replacing'], 3, 'starting'],
    ['running', ['replacing', 'serving'], 3, 'running'],
    // A stop-first reload's slot serves nothing for a while, as planned: not a backoff.
    ['running', ['recreating', 'serving'], 2, 'running'],
    ['running', ['recreating'], 0, 'running'],
    // Finished slots do not count; with none left and nothing alive the app is stopped.
    ['running', ['finished', 'serving'], 1, 'running'],
    ['running', ['finished', 'finished'], 0, 'stopped'],
    ['running', ['finished', 'finished'], 1, 'running'],
    // Decided states hold.
    ['errored', ['finished', 'serving'], 1, 'errored'],
    ['errored', ['finished', 'finished'], 0, 'errored'],
    ['stopping', ['removed', 'removed'], 1, 'stopping'],
    ['stopping', ['removed', 'removed'], 0, 'stopped'],
  ];
  it.each(cases)('%s with slots %j and %i alive -> %s', (current, slots, alive, expected) => {
    expect(deriveAppState(current, slots, alive)).toBe(expected);
  });
});
