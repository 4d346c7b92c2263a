// An `events` follower has the limit a `logs --follow` one has: one that stops reading is disconnected
// once more than MAX_PENDING_OUTPUT waits for it, with a last line saying so, instead of the root
// buffering the events for it. Over a real Unix socket, with the root's own connection handling, and a
// logger whose events feed the stream (the warning about the follower is an event itself).
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { answer } from '../../src/control/commands.js';
import { Connection } from '../../src/control/connection.js';
import { MAX_PENDING_OUTPUT } from '../../src/control/protocol.js';
import { LogEvents } from '../../src/log/events.js';
import { createLogger } from '../../src/log/logger.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import { tempDir } from '../helpers/files.js';
import { until } from '../helpers/processes.js';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

describe('events follower limit', () => {
  it('disconnects an events client that stops reading, and goes on logging', async () => {
    const events = new LogEvents();
    const logged: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logged.push(String(chunk));
        done();
      },
    });
    const log = await createLogger('json', sink, events);
    // `events` for every app needs nothing of the supervisor.
    const context = { supervisor: {} as Supervisor, log, events };
    const path = join(tempDir(), 'c.sock');
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      new Connection(socket, (line, progress) => answer(line, context, progress), log);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));

    const client: Socket = netConnect(path);
    let received = '';
    let bytes = 0;
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => {
      bytes += Buffer.byteLength(chunk);
      received += chunk;
    });
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.write('{"v":1,"id":"e","cmd":"events"}\n');
    await until(() => received.includes('"following":true'), 'the stream to begin');
    log.info({ app: 'web', worker: 0, to: 'ready' }, 'worker ready');
    await until(() => received.includes('"msg":"worker ready"'), 'a first event');
    client.pause();

    // Far more than the limit, while the client reads nothing.
    const padding = 'x'.repeat(200);
    const count = (4 * MAX_PENDING_OUTPUT) / 256;
    for (let i = 0; i < count; i += 1) log.info({ app: 'web', worker: i % 4, padding }, `event ${i}`);
    await until(() => logged.some((l) => l.includes('fell more than')), 'the follower dropped');
    client.resume();
    await closed;
    const last = JSON.parse(received.trimEnd().split('\n').at(-1) as string);
    expect(last).toEqual({
      v: 1,
      id: 'e',
      ok: false,
      error: {
        code: 'CLUSTERD_ERR_CONTROL',
        message: `events fell more than ${MAX_PENDING_OUTPUT} bytes behind the events; disconnected`,
      },
    });
    expect(bytes).toBeLessThan(3 * MAX_PENDING_OUTPUT);
    // The log went on, every line of it, and says who was dropped.
    expect(logged.filter((l) => l.includes('"msg":"event ')).length).toBe(count);
    const dropped = logged.filter((l) => l.includes('fell more than'));
    expect(dropped).toEqual([
      expect.stringMatching(
        /"level":40,.*"follower":"e".*control: an events client fell more than 1048576 bytes/,
      ),
    ]);
  });
});
