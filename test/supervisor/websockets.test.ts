// WebSockets through reloads: 20 real `ws` clients, each reconnecting when its connection closes, through
// three rolling reloads. The app's onDrain closes each connection with 1012 "service restart", spread
// over shutdown.spread: no close is abnormal (1006), the closes of a drain are spaced, `status` shows the
// connections a draining worker still holds, and every old worker ends by itself (code 0, no SIGKILL).
// The contrast: the same app without onDrain loses every connection at the SIGKILL (1006).
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runCli } from '../helpers/cli.js';
import { until } from '../helpers/processes.js';
import { fixtureApp, type LogEvent, type Root, startRoot } from '../helpers/root.js';

const CLIENTS = 20;
const SPREAD_MS = 3_000;

interface Client {
  /** Every close seen: its code, when, and which worker's connection it was. */
  closes: { code: number; at: number; pid: number }[];
  pid: number;
  stop(): void;
}

const clients: Client[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.stop();
});

/** A client that reconnects whenever its connection closes (as a browser app does), until stopped. */
function client(url: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    let stopped = false;
    let ws: WebSocket;
    const me: Client = {
      closes: [],
      pid: 0,
      stop() {
        stopped = true;
        ws.terminate();
      },
    };
    clients.push(me);
    const connect = () => {
      ws = new WebSocket(url);
      ws.once('message', (data) => {
        me.pid = JSON.parse(data.toString()).hello;
        resolve(me);
      });
      ws.once('error', (error) => {
        if (me.pid === 0) reject(error);
      });
      ws.once('close', (code) => {
        if (stopped) return;
        me.closes.push({ code, at: performance.now(), pid: me.pid });
        connect();
      });
    };
    connect();
  });
}

const readyPids = (root: Root, from = 0) =>
  root.events
    .slice(from)
    .filter((e) => e.app === 'web' && e.to === 'ready')
    .map((e) => e.pid as number);

async function reload(root: Root): Promise<void> {
  const from = root.events.length;
  root.signal('SIGUSR2');
  const done = await root.waitFor(
    (e) => e.app === 'web' && typeof e.reload === 'string' && e.reload !== 'started',
    'the reload',
    { from, timeoutMs: 30_000 },
  );
  expect(done.reload, String(done.reason)).toBe('done');
}

/** Polls `status --json` until a draining worker reports open connections; returns what it showed. */
async function drainingInStatus(root: Root) {
  const deadline = Date.now() + SPREAD_MS;
  while (Date.now() < deadline) {
    const status = JSON.parse((await runCli(['status', '--json'], { cwd: root.dir, env: root.env })).stdout);
    const draining = status.apps[0].workers.filter(
      (w: { state: string; connections: number | null }) => w.state === 'draining' && w.connections,
    );
    if (draining.length) {
      const table = (await runCli(['status'], { cwd: root.dir, env: root.env })).stdout;
      return { draining, table };
    }
  }
  return { draining: [], table: '' };
}

describe('WebSockets through reloads', () => {
  it.each(['round-robin', 'least-connections'])(
    '%s: 20 ws clients, 3 reloads: every close is 1012 from onDrain, spread, and old workers exit 0',
    async (balancing) => {
      const root = startRoot({
        apps: [
          fixtureApp('web', 'ws-app.mjs', {
            instances: 2,
            balancing,
            env: { PORT: 0 },
            shutdown: { timeout: '5s', spread: `${SPREAD_MS}ms` },
          }),
        ],
      });
      await root.running('web');
      const url = `ws://${await root.address('web')}`;
      const all = await Promise.all(Array.from({ length: CLIENTS }, () => client(url)));
      const old: number[] = [];
      let statusSeen: Awaited<ReturnType<typeof drainingInStatus>> | null = null;
      for (let i = 0; i < 3; i++) {
        const serving = readyPids(root).filter((pid) => !old.includes(pid));
        const reloaded = reload(root);
        if (i === 0) statusSeen = await drainingInStatus(root);
        await reloaded;
        old.push(...serving);
        // Every client is back, on a new worker, before the next reload.
        await until(() => all.every((c) => !old.includes(c.pid)), 'every client on a new worker', 15_000);
      }
      const stopped: LogEvent[] = await Promise.all(
        old.map((pid) => root.waitFor((e) => e.pid === pid && e.to === 'stopped', `worker ${pid} to stop`)),
      );
      for (const e of stopped)
        expect({ pid: e.pid, code: e.code, signal: e.signal }).toEqual({ pid: e.pid, code: 0, signal: null });
      const closes = all.flatMap((c) => c.closes);
      // Each client was closed once per reload (at least: a reconnect may land on a worker about to go).
      expect(closes.length).toBeGreaterThanOrEqual(3 * CLIENTS);
      expect(closes.filter((c) => c.code !== 1012)).toEqual([]);
      // Spread: the closes one old worker sent are spaced over the spread, not in one instant.
      for (const pid of old) {
        const at = closes.filter((c) => c.pid === pid).map((c) => c.at);
        if (at.length < 4) continue;
        expect(Math.max(...at) - Math.min(...at), `closes of ${pid}`).toBeGreaterThan(SPREAD_MS / 3);
      }
      // `status` showed the connections of a draining worker while it drained.
      expect(
        statusSeen?.draining.length,
        'a draining worker with open connections in status',
      ).toBeGreaterThan(0);
      expect(statusSeen?.table).toMatch(/draining \(\d+ open\)/);
      for (const c of clients.splice(0)) c.stop();
      root.signal('SIGTERM');
      expect((await root.waitForExit()).code).toBe(0);
    },
    90_000,
  );

  it('without onDrain, a reload cuts every connection at the SIGKILL (1006): the contrast', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('web', 'ws-app.mjs', {
          instances: 1,
          env: { PORT: 0, WS_NO_DRAIN: '1' },
          shutdown: { timeout: '1s' },
        }),
      ],
    });
    await root.running('web');
    const url = `ws://${await root.address('web')}`;
    const all = await Promise.all(Array.from({ length: 5 }, () => client(url)));
    const [pid] = readyPids(root);
    await reload(root);
    const stopped = await root.waitFor((e) => e.pid === pid && e.to === 'stopped', 'the old worker to stop');
    expect(stopped.signal).toBe('SIGKILL');
    await until(() => all.every((c) => c.closes.length > 0), 'every client to see its close', 5_000);
    expect(new Set(all.flatMap((c) => c.closes.map((x) => x.code)))).toEqual(new Set([1006]));
    for (const c of clients.splice(0)) c.stop();
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 30_000);
});
