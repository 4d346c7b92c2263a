// A fault in the dashboard's own code ends that request with a 500 and an internal error in the log,
// never the root: thrown while routing (the health server's guard) or in an async handler (its .catch).
// A real HealthServer and Dashboard over real HTTP, with stubbed parts that throw.
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedHealth } from '../../../src/config/resolved.js';
import { Dashboard } from '../../../src/health/dashboard/dashboard.js';
import type { Metrics } from '../../../src/health/metrics.js';
import { HealthServer, type HealthSource } from '../../../src/health/server.js';
import { LogEvents } from '../../../src/log/events.js';
import type { Logger } from '../../../src/log/logger.js';
import type { Supervisor } from '../../../src/supervisor/supervisor.js';
import { call } from '../../helpers/dashboard.js';

const TOKEN = 'guard-test-token-0123456789abcdef';

function stubLog(throwOnInfo: boolean) {
  const errors: { code: unknown; msg: string }[] = [];
  const log = {
    info: () => {
      if (throwOnInfo) throw new Error('the log broke');
    },
    warn: () => {},
    error: (o: { code?: unknown }, msg: string) => errors.push({ code: o.code, msg }),
  } as unknown as Logger;
  return { log, errors };
}

const supervisor = {
  fleet: {
    history: () => {
      throw new Error('no history here');
    },
    subscribe: () => () => {},
  },
  select: () => {
    throw new Error('select broke');
  },
} as unknown as Supervisor;

const source = {} as HealthSource;
const metrics = {} as Metrics;
let servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function serve(token: boolean, throwOnInfo: boolean) {
  const { log, errors } = stubLog(throwOnInfo);
  const health: ResolvedHealth = {
    host: '127.0.0.1',
    port: 0,
    readyShare: 0.5,
    dashboard: { actions: false, token: token ? { env: 'GUARD_TOKEN' } : null },
  };
  const dashboard = Dashboard.create(health, {
    supervisor,
    events: new LogEvents(),
    log,
    env: { GUARD_TOKEN: TOKEN },
  });
  const server = await HealthServer.listen(health, source, metrics, log, dashboard);
  servers.push(server);
  return { address: server.address, errors };
}

describe('dashboard faults', () => {
  it('a throw while handling a request is a 500 and an internal error, and the server goes on', async () => {
    const { address, errors } = await serve(false, false);
    const res = await call(address, 'GET', '/dashboard/api/stream', { timeoutMs: 5_000 });
    expect(res.status).toBe(500);
    expect(res.body).not.toContain('no history here');
    expect(res.body).not.toMatch(/^\s+at /m);
    expect(errors).toEqual([{ code: 'CLUSTERD_ERR_INTERNAL', msg: 'health dashboard: no history here' }]);
    expect((await call(address, 'GET', '/dashboard/')).status).toBe(200);
  });

  it('a rejection of an async handler (sign-in) is a 500, not an unhandled rejection', async () => {
    const { address, errors } = await serve(true, true);
    const res = await call(address, 'POST', '/dashboard/login', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${TOKEN}`,
      timeoutMs: 5_000,
    });
    expect(res.status).toBe(500);
    expect(res.body).not.toContain(TOKEN);
    expect(errors).toEqual([{ code: 'CLUSTERD_ERR_INTERNAL', msg: 'dashboard: the log broke' }]);
    expect((await call(address, 'GET', '/dashboard/')).status).toBe(200);
  });
});
