// The dashboard's event streams over real HTTP, on a stand-in fleet: a closed client ends its
// subscriptions (the fleet is sampled only while someone watches), a client that stops reading is
// dropped once MAX_PENDING_BYTES behind, and the number of streams is bounded.
import http from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_FLEET_STREAMS, MAX_PENDING_BYTES, Streams } from '../../../src/health/dashboard/streams.js';
import { LogEvents } from '../../../src/log/events.js';
import type { Logger } from '../../../src/log/logger.js';
import type { Supervisor } from '../../../src/supervisor/supervisor.js';
import { SseStream } from '../../helpers/dashboard.js';
import { until } from '../../helpers/processes.js';

type Listener = (sample: object) => void;

function setUp() {
  const listeners = new Set<Listener>();
  const warnings: string[] = [];
  const supervisor = {
    fleet: {
      history: () => [{ at: 1, pid: 1, uptime: 0, apps: [] }],
      subscribe: (listener: Listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
  } as unknown as Supervisor;
  const log = { warn: (_o: object, msg: string) => warnings.push(msg) } as unknown as Logger;
  const streams = new Streams(supervisor, new LogEvents(), log);
  const server = http.createServer((_req, res) => {
    if (!streams.fleet(res, { actions: false })) res.writeHead(503).end();
  });
  return { listeners, warnings, streams, server };
}

let servers: http.Server[] = [];
afterEach(() => {
  for (const server of servers) server.close();
  servers = [];
});

async function listen(server: http.Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('dashboard streams', () => {
  it('sends hello and the history first, then samples; a closed client unsubscribes', async () => {
    const { listeners, streams, server } = setUp();
    const address = await listen(server);
    const client = new SseStream(address, '/');
    await client.next((m) => m.event === 'history', 'the history');
    expect(client.messages.map((m) => m.event)).toEqual(['hello', 'history']);
    expect(listeners.size).toBe(1);
    for (const listener of listeners) listener({ at: 2 });
    expect((await client.next((m) => m.event === 'sample', 'a sample')).value).toEqual({ at: 2 });
    client.close();
    await until(() => listeners.size === 0, 'the unsubscription');
    expect(streams.counts).toEqual({ fleet: 0, logs: 0 });
  });

  it('drops a client that stops reading, and bounds the number of streams', async () => {
    const { listeners, warnings, streams, server } = setUp();
    const address = await listen(server);
    const [host, port] = address.split(':') as [string, string];
    // A client that asks and never reads: what the server writes piles up in its buffers.
    const stuck = connect(Number(port), host, () => stuck.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    stuck.pause();
    await until(() => listeners.size === 1, 'the stuck client subscribed');
    const big = { blob: 'x'.repeat(64 * 1024) };
    for (let i = 0; i < (2 * MAX_PENDING_BYTES) / (64 * 1024) + 64 && listeners.size > 0; i++)
      for (const listener of [...listeners]) listener(big);
    expect(listeners.size).toBe(0);
    expect(warnings).toEqual([
      `dashboard: a fleet stream fell more than ${MAX_PENDING_BYTES} bytes behind; disconnected it`,
    ]);
    stuck.destroy();

    const clients = Array.from({ length: MAX_FLEET_STREAMS }, () => new SseStream(address, '/'));
    await Promise.all(clients.map((c) => c.next((m) => m.event === 'hello', 'hello')));
    const refused = new SseStream(address, '/');
    await until(() => refused.status !== 0, 'the answer');
    expect(refused.status).toBe(503);
    for (const c of clients) c.close();
    await until(() => streams.counts.fleet === 0, 'every stream closed');
    streams.close();
  });
});
