// A worker's environment is built in one place, per fork, from the supervisor's environment.
import { describe, expect, it } from 'vitest';
import { workerEnv } from '../../src/primary/env.js';
import { resolvedApp } from '../helpers/fake-pool.js';

describe('workerEnv', () => {
  it('is the supervisor env, the app env over it, removals applied, and the slot variables', () => {
    const base = Object.freeze({ PATH: '/bin', TZ: 'UTC', SECRET: 's', NODE_APP_INSTANCE: '9' });
    const app = resolvedApp({ name: 'api', env: { TZ: 'Asia/Tokyo', SECRET: null, PORT: '3000' } });
    expect(workerEnv(base, app, 2)).toEqual({
      PATH: '/bin',
      TZ: 'Asia/Tokyo',
      PORT: '3000',
      NODE_APP_INSTANCE: '2',
      CLUSTERD_WORKER_ID: '2',
      CLUSTERD_APP: 'api',
      CLUSTERD_SHUTDOWN_SIGNAL: 'SIGTERM',
      CLUSTERD_SHUTDOWN_TIMEOUT: '1000',
      CLUSTERD_BALANCING: 'round-robin',
      CLUSTERD_READINESS: 'listening',
    });
    // The base is never changed: the next fork starts from the same environment.
    expect(base).toEqual({ PATH: '/bin', TZ: 'UTC', SECRET: 's', NODE_APP_INSTANCE: '9' });
  });
});
