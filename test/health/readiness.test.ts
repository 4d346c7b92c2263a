// Readiness and liveness, as /readyz and /livez decide them, from pictures of apps.
import { describe, expect, it } from 'vitest';
import { type AppPicture, liveness, needed, readiness } from '../../src/health/readiness.js';
import type { WorkerState } from '../../src/lifecycle/states.js';

const app = (name: string, instances: number, states: WorkerState[], extra: Partial<AppPicture> = {}) => ({
  name,
  state: 'running' as const,
  instances,
  workers: states.map((state) => ({ state })),
  stoppedByCommand: false,
  ...extra,
});

describe('readiness', () => {
  it('needs readyShare of the instances, rounded up, at least one', () => {
    expect(needed(4, 0.5)).toBe(2);
    expect(needed(3, 0.5)).toBe(2);
    expect(needed(1, 0.5)).toBe(1);
    expect(needed(10, 0.3)).toBe(3);
    expect(needed(4, 1)).toBe(4);
    expect(needed(2, 0.01)).toBe(1);
  });

  it('is ready when every app has enough ready workers; starting and draining ones do not count', () => {
    const share = 0.5;
    expect(readiness([app('a', 4, ['ready', 'ready', 'starting', 'starting'])], share, false).ready).toBe(
      true,
    );
    const short = readiness(
      [app('a', 4, ['ready', 'draining', 'starting', 'starting']), app('b', 1, ['ready'])],
      share,
      false,
    );
    expect(short.ready).toBe(false);
    expect(short.reason).toBe('a: 1 of 2 needed workers ready');
    expect(short.apps.map((a) => a.ok)).toEqual([false, true]);
  });

  it('counts a reload as ready: the old worker serves until its successor is', () => {
    // One slot mid-reload: its successor starting, the old worker ready; another slot's old one draining.
    const states: WorkerState[] = ['ready', 'starting', 'ready', 'draining'];
    expect(readiness([app('a', 2, states)], 1, false).ready).toBe(true);
  });

  it('is not ready once a stop has begun, whatever the workers', () => {
    const r = readiness([app('a', 2, ['ready', 'ready'])], 0.5, true);
    expect(r).toMatchObject({ ready: false, reason: 'clusterd is stopping' });
    expect(r.apps[0]?.ok).toBe(true);
  });

  it('leaves out an app stopped by clusterd stop <app>, and counts what an errored app still has', () => {
    const stopped = app('off', 2, [], { state: 'stopped', stoppedByCommand: true });
    expect(readiness([app('a', 2, ['ready']), stopped], 0.5, false)).toMatchObject({ ready: true });
    const errored = app('e', 4, ['ready', 'ready'], { state: 'errored' });
    expect(readiness([errored], 0.5, false).ready).toBe(true);
    expect(readiness([{ ...errored, workers: [] }], 0.5, false).ready).toBe(false);
  });

  it('is not ready with an app that has no worker yet (the first start)', () => {
    expect(readiness([app('a', 2, [], { state: 'starting' })], 0.5, false).ready).toBe(false);
  });
});

describe('liveness', () => {
  it('fails only for a running primary that did not answer', () => {
    expect(
      liveness([
        { name: 'a', primary: 'answered' },
        { name: 'b', primary: 'not running' },
      ]).live,
    ).toBe(true);
    const hung = liveness([
      { name: 'a', primary: 'answered' },
      { name: 'b', primary: 'unresponsive' },
    ]);
    expect(hung).toMatchObject({ live: false, reason: 'primary of b did not answer' });
  });
});
