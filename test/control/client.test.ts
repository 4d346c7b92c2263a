// The CLI's side of the control socket never waits forever: against real sockets whose server accepts
// the connection and then says nothing (a stopped or overloaded supervisor), or accepts a command and
// never finishes it.
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplyStream, sendCommand } from '../../src/control/client.js';
import { ErrorCode } from '../../src/errors.js';
import { tempDir } from '../helpers/files.js';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

// A control socket whose server reads requests and answers each line with `answer(request)` (nothing if
// it returns nothing).
async function fakeSupervisor(answer: (request: { id: string }) => object[]): Promise<string> {
  const socket = join(tempDir(), 'c.sock');
  const sockets: Socket[] = [];
  const server = createServer((peer) => {
    sockets.push(peer);
    peer.setEncoding('utf8');
    peer.on('data', (line: string) => {
      for (const reply of answer(JSON.parse(line))) peer.write(`${JSON.stringify(reply)}\n`);
    });
  });
  server.on('close', () => {
    for (const peer of sockets) peer.destroy();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return socket;
}

describe('control client bounds', () => {
  it('gives up on a supervisor that never answers, and says so', async () => {
    const socket = await fakeSupervisor(() => []);
    const started = Date.now();
    const sent = sendCommand(
      { config: 'cluster.config.json', socket },
      { cmd: 'status' },
      {
        answerMs: 300,
      },
    );
    await expect(sent).rejects.toMatchObject({
      code: ErrorCode.TIMEOUT,
      message: expect.stringMatching(
        /^clusterd did not answer status within 300ms \(control socket .*\): it may be stopped or overloaded$/,
      ),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('waits as long as an accepted command was bounded, and no longer', async () => {
    const socket = await fakeSupervisor((request) => [{ v: 1, id: request.id, accepted: { timeout: 400 } }]);
    const started = Date.now();
    const sent = sendCommand(
      { config: 'c', socket },
      { cmd: 'reload' },
      {
        answerMs: 100,
        graceMs: 100,
      },
    );
    await expect(sent).rejects.toMatchObject({
      code: ErrorCode.TIMEOUT,
      message: 'clusterd accepted reload with a bound of 400ms but did not answer within it',
    });
    // Past the first-line bound (100 ms): the accepted bound (400) plus the grace (100) applied.
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
  });

  it('takes the answer of an accepted command that ends in time', async () => {
    const socket = await fakeSupervisor((request) => [
      { v: 1, id: request.id, accepted: { timeout: 60_000 } },
      { v: 1, id: request.id, ok: true, result: [{ app: 'web', replaced: 2, ms: 10 }] },
    ]);
    const result = await sendCommand(
      { config: 'c', socket },
      { cmd: 'reload' },
      {
        answerMs: 1_000,
      },
    );
    expect(result).toEqual([{ app: 'web', replaced: 2, ms: 10 }]);
  });

  it('keeps a stream that began open however quiet it is, and gives up on one that never begins', async () => {
    const event = { level: 30, time: 1, msg: 'worker ready', app: 'web' };
    const socket = await fakeSupervisor((request) => [
      { v: 1, id: request.id, following: true },
      { v: 1, id: request.id, event },
    ]);
    const stream = new ReplyStream(
      { config: 'c', socket },
      { cmd: 'events' },
      (r) => ('event' in r ? r.event : undefined),
      { answerMs: 200 },
    );
    expect(await stream.next()).toEqual({ value: event, done: false });
    // Quiet for longer than the bound on a first line (a sleep: proving it is NOT given up).
    await new Promise((r) => setTimeout(r, 400));
    expect(stream.finished).toBe(false);
    stream.close();
    expect(await stream.next()).toEqual({ value: undefined, done: true });

    const silent = await fakeSupervisor(() => []);
    const never = new ReplyStream({ config: 'c', socket: silent }, { cmd: 'events' }, () => undefined, {
      answerMs: 200,
    });
    await expect(never.next()).rejects.toMatchObject({
      code: ErrorCode.TIMEOUT,
      message: expect.stringMatching(/^clusterd did not answer events within 200ms/),
    });
  });
});
