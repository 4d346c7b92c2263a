import { describe, expect, it } from 'vitest';
import {
  APP_STATES,
  assertAppTransition,
  assertWorkerTransition,
  WORKER_STATES,
  type WorkerState,
} from '../../src/lifecycle/states.js';

describe('lifecycle states', () => {
  it('allows the worker lifecycle of the design and nothing else', () => {
    const allowed: [WorkerState, WorkerState][] = [
      ['starting', 'ready'],
      ['starting', 'draining'],
      ['starting', 'crashed'],
      ['ready', 'draining'],
      ['ready', 'crashed'],
      ['draining', 'stopped'],
      ['draining', 'crashed'],
    ];
    for (const from of WORKER_STATES) {
      for (const to of WORKER_STATES) {
        const ok = allowed.some(([a, b]) => a === from && b === to);
        if (ok) expect(() => assertWorkerTransition(from, to)).not.toThrow();
        else
          expect(() => assertWorkerTransition(from, to)).toThrow(
            `invalid worker transition ${from} -> ${to}`,
          );
      }
    }
  });

  it('makes stopped the end of every app', () => {
    for (const from of APP_STATES) {
      if (from !== 'stopped') expect(() => assertAppTransition(from, 'stopped')).not.toThrow();
    }
    for (const to of APP_STATES) expect(() => assertAppTransition('stopped', to)).toThrow();
    expect(() => assertAppTransition('errored', 'running')).toThrow();
  });
});
