// socket.io with its cluster adapter (`@socket.io/cluster-adapter`, real packages) over 4 sticky workers:
// the adapter's primary side is clusterd's primary (primary/relay/socketio.ts), so broadcasts, binary
// events, fetchSockets() and serverSideEmit with acks reach every worker, before and after a rolling
// reload, with the app unchanged. 8 clients, 2 on each worker (sticky by source IP: 127.0.0.N).
import type { Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { until } from '../helpers/processes.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';
import { socketFrom } from '../helpers/socketio.js';

const WORKERS = 4;
const PER_WORKER = 2;

interface Client {
  ip: string;
  socket: Socket;
  hello: { worker: number; pid: number } | null;
  news: unknown[];
  bytes: Buffer[];
}

function connect(address: string, ip: string): Client {
  const socket = socketFrom(address, ip);
  const client: Client = { ip, socket, hello: null, news: [], bytes: [] };
  socket.on('hello', (hello) => {
    client.hello = hello;
  });
  socket.on('news', (payload) => client.news.push(payload));
  socket.on('bytes', (payload) => client.bytes.push(payload));
  return client;
}

/** 2 clients on each of the 4 workers: source IPs are tried until every worker has its two. */
async function spread(address: string): Promise<Client[]> {
  const kept: Client[] = [];
  for (let n = 2; n < 60 && kept.length < WORKERS * PER_WORKER; n++) {
    const client = connect(address, `127.0.0.${n}`);
    await until(() => client.hello !== null, `client 127.0.0.${n} greeted`, 10_000);
    const on = kept.filter((c) => c.hello?.worker === client.hello?.worker).length;
    if (on < PER_WORKER) kept.push(client);
    else client.socket.close();
  }
  expect(kept).toHaveLength(WORKERS * PER_WORKER);
  return kept;
}

const ack = <T>(socket: Socket, event: string, ...args: unknown[]): Promise<T> =>
  socket.timeout(10_000).emitWithAck(event, ...args) as Promise<T>;

/** Every cross-worker feature once, from a client on `from`. */
async function everyFeature(clients: Client[], round: string): Promise<void> {
  const from = clients[0] as Client;
  await ack(from.socket, 'broadcast', { round });
  await until(
    () => clients.every((c) => c.news.some((n) => (n as { round: string }).round === round)),
    `every client got the ${round} broadcast`,
    5_000,
  );
  expect(await ack<number>(from.socket, 'count')).toBe(clients.length);
  const asked = await ack<{ answers?: { pid: number }[]; error?: string }>(from.socket, 'ask');
  expect(asked.error).toBeUndefined();
  const others = new Set(clients.map((c) => c.hello?.pid).filter((pid) => pid !== from.hello?.pid));
  expect(new Set(asked.answers?.map((a) => a.pid))).toEqual(others);
  const before = clients.map((c) => c.bytes.length);
  await ack(from.socket, 'binary');
  await until(
    () => clients.every((c, i) => c.bytes.length > (before[i] ?? 0)),
    'the Buffer everywhere',
    5_000,
  );
  for (const c of clients) {
    const bytes = c.bytes.at(-1) as Buffer;
    expect(Buffer.isBuffer(bytes), c.ip).toBe(true);
    expect([...bytes], c.ip).toEqual(Array.from({ length: 256 }, (_, i) => i));
  }
}

async function stop(root: Root, clients: Client[]): Promise<void> {
  for (const c of clients) c.socket.close();
  root.signal('SIGTERM');
  expect((await root.waitForExit()).code).toBe(0);
}

describe('socket.io cluster adapter, relayed by the primary', () => {
  it('broadcasts, Buffers, fetchSockets and serverSideEmit acks reach every worker, through a reload', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('web', 'socketio-cluster-app.mjs', {
          instances: WORKERS,
          balancing: 'sticky',
          serialization: 'advanced',
          env: { PORT: 0 },
        }),
      ],
    });
    await root.running('web');
    const address = await root.address('web');
    const clients = await spread(address);
    try {
      expect(new Set(clients.map((c) => c.hello?.worker)).size).toBe(WORKERS);
      await everyFeature(clients, 'before');

      const old = new Set(clients.map((c) => c.hello?.pid));
      const reloaded = await runCli(['reload', 'web'], { cwd: root.dir, env: root.env, timeoutMs: 60_000 });
      expect(reloaded.code, reloaded.stderr).toBe(0);
      // Every client reconnected by itself, to the new worker of its slot.
      await until(
        () => clients.every((c) => c.socket.connected && c.hello !== null && !old.has(c.hello.pid)),
        'every client on a new worker',
        20_000,
      );
      // The old workers are gone (their adapters too): the acks count only the new ones.
      await root.waitForCount(
        (e) => e.app === 'web' && e.to === 'stopped',
        WORKERS,
        'the old workers to stop',
      );
      await everyFeature(clients, 'after');
    } finally {
      await stop(root, clients);
    }
  }, 90_000);

  it('without `serialization: "advanced"`, a Buffer crosses the JSON channel as an object, not bytes', async () => {
    const root = startRoot({
      apps: [
        fixtureApp('web', 'socketio-cluster-app.mjs', {
          instances: 2,
          balancing: 'sticky',
          env: { PORT: 0 },
        }),
      ],
    });
    await root.running('web');
    const address = await root.address('web');
    const clients: Client[] = [];
    for (let n = 2; n < 60 && new Set(clients.map((c) => c.hello?.worker)).size < 2; n++) {
      const client = connect(address, `127.0.0.${n}`);
      await until(() => client.hello !== null, 'greeted', 10_000);
      clients.push(client);
    }
    try {
      const from = clients[0] as Client;
      const far = clients.find((c) => c.hello?.worker !== from.hello?.worker) as Client;
      await ack(from.socket, 'binary');
      await until(() => far.bytes.length > 0 && from.bytes.length > 0, 'the event on both workers', 5_000);
      expect(Buffer.isBuffer(from.bytes[0])).toBe(true);
      expect(Buffer.isBuffer(far.bytes[0])).toBe(false);
      expect(far.bytes[0]).toMatchObject({ type: 'Buffer' });
    } finally {
      await stop(root, clients);
    }
  }, 60_000);
});
