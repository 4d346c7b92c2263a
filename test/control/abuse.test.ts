// The control socket against clients that misbehave: garbage, oversized lines, floods of connections,
// clients that go silent, half-close, leave mid-answer or stop reading. After each, the root is still up,
// its app still serves HTTP, and the next `clusterd status` answers promptly.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/processes.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';

const LIMIT = 64 * 1024;
const CONNECTIONS = 256;
const IDLE_MS = 10_000;

interface Peer {
  socket: Socket;
  lines: string[];
  bytes: number;
  openedAt: number;
  /** When the connection closed (ms since the epoch); null while open. */
  closedAt: number | null;
  closed: Promise<void>;
}

// A raw client; retries a connect refused with EAGAIN (the listen backlog is full during a flood).
async function connectTo(path: string): Promise<Peer> {
  for (;;) {
    const socket = connect(path);
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      socket.once('connect', () => resolve(null));
      socket.once('error', resolve);
    });
    if (!error) return track(socket);
    if (error.code !== 'EAGAIN') throw error;
    await new Promise((r) => setTimeout(r, 5));
  }
}

function track(socket: Socket): Peer {
  const peer = { socket, lines: [], bytes: 0, openedAt: Date.now(), closedAt: null } as unknown as Peer;
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('error', () => {});
  socket.on('data', (chunk: string) => {
    peer.bytes += Buffer.byteLength(chunk);
    const parts = (pending + chunk).split('\n');
    pending = parts.pop() ?? '';
    peer.lines.push(...parts);
  });
  peer.closed = new Promise((resolve) =>
    socket.once('close', () => {
      peer.closedAt = Date.now();
      resolve();
    }),
  );
  return peer;
}

const request = (id: number | string, cmd: string, fields: object = {}) =>
  `${JSON.stringify({ v: 1, id, cmd, ...fields })}\n`;
const parse = (line: string | undefined) => JSON.parse(String(line));
const rss = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function chattyRoot() {
  const root = startRoot({ apps: [fixtureApp('web', 'log-chatty.cjs', { instances: 1 })] });
  await root.running('web');
  const dir = join(String(root.env.XDG_RUNTIME_DIR), 'clusterd');
  const socket = join(dir, String(readdirSync(dir).find((f) => f.endsWith('.sock'))));
  return { root, address: await root.address('web'), socket, pid: Number(root.child.pid) };
}

// The root is up, its app serves, and a real `clusterd status` answers; returns how long that took.
async function healthy(root: Root, address: string): Promise<number> {
  expect(root.exited).toBeNull();
  expect((await get(address)).status).toBe(200);
  const started = Date.now();
  const status = await runCli(['status', '--json'], { cwd: root.dir, env: root.env });
  const ms = Date.now() - started;
  expect([status.code, status.stderr]).toEqual([0, '']);
  expect(JSON.parse(status.stdout).apps).toMatchObject([{ name: 'web', state: 'running', instances: 1 }]);
  expect(ms).toBeLessThan(5_000);
  return ms;
}

describe('control socket abuse', () => {
  it('answers malformed, mistyped and binary requests with errors, one per line, changing nothing', async () => {
    const { root, address, socket } = await chattyRoot();
    const control = 'CLUSTERD_ERR_CONTROL';
    const bad: [string, string | RegExp, string | number | null, string?][] = [
      ['not json', 'malformed JSON', null],
      ['{"v":1,"id":1,"cmd":"status"', 'malformed JSON', null],
      ['"status"', 'a request must be an object', null],
      ['42', 'a request must be an object', null],
      ['null', 'a request must be an object', null],
      ['[1,2]', 'a request must be an object', null],
      ['{}', 'a request needs an "id" (string or number)', null],
      ['{"v":1,"id":{},"cmd":"status"}', 'a request needs an "id" (string or number)', null],
      ['{"v":1,"id":1}', 'unknown command undefined', 1],
      ['{"id":2,"cmd":"status"}', /^unsupported protocol version undefined/, 2],
      ['{"v":"1","id":3,"cmd":"status"}', /^unsupported protocol version "1"/, 3],
      ['{"v":2,"id":4,"cmd":"status"}', /^unsupported protocol version 2 \(this clusterd speaks 1\)/, 4],
      ['{"v":1,"id":5,"cmd":"explode"}', 'unknown command "explode"', 5],
      ['{"v":1,"id":6,"cmd":"__proto__"}', 'unknown command "__proto__"', 6],
      ['{"v":1,"id":7,"cmd":"toString"}', 'unknown command "toString"', 7],
      ['{"v":1,"id":8,"cmd":["status"]}', 'unknown command ["status"]', 8],
      ['{"v":1,"id":9,"cmd":"scale","instances":"5"}', 'scale needs an "app"', 9],
      ['{"v":1,"id":10,"cmd":"start"}', 'start needs an "app"', 10],
      ['{"v":1,"id":11,"cmd":"scale","app":"web","instances":{}}', /^scale needs "instances"/, 11],
      ['{"v":1,"id":12,"cmd":"stop","app":7}', '"app" must be a string', 12],
      ['{"v":1,"id":13,"cmd":"logs","lines":-1}', '"lines" must be a whole number', 13],
      ['{"v":1,"id":14,"cmd":"logs","lines":"all"}', '"lines" must be a whole number', 14],
      ['{"v":1,"id":15,"cmd":"logs","follow":"yes"}', '"follow" must be true or false', 15],
      ['{"v":1,"id":16,"cmd":"reload","app":"nope"}', 'no app named "nope" (apps: web)', 16, 'UNKNOWN_APP'],
      ['{"v":1,"id":17,"cmd":"scale","app":"web","instances":"0"}', /between 1 and 1024/, 17, 'SCALE_FAILED'],
      ['{"v":1,"id":18,"cmd":"scale","app":"web","instances":"lots"}', /N, \+N or -N/, 18, 'USAGE'],
      [randomBytes(4096).toString('latin1').replaceAll('\n', ' '), 'malformed JSON', null],
      ['\u0000\u0000{"v":1}\u0000', 'malformed JSON', null],
    ];
    const payloads = [...bad.map(([line]) => Buffer.from(line, 'latin1')), Buffer.from([0xff, 0xfe, 0xc3])];
    const expected = [...bad, ['', 'malformed JSON', null] as (typeof bad)[number]];
    // Each on a connection of its own...
    const alone = await Promise.all(
      payloads.map(async (payload) => {
        const peer = await connectTo(socket);
        peer.socket.write(Buffer.concat([payload, Buffer.from('\n')]));
        await until(() => peer.lines.length > 0, 'an answer');
        peer.socket.destroy();
        return parse(peer.lines[0]);
      }),
    );
    // ... and all at once on one connection, blank lines between: answered one each, in order.
    const together = await connectTo(socket);
    together.socket.write(Buffer.concat(payloads.flatMap((p) => [p, Buffer.from('\n\n \r\n')])));
    await until(() => together.lines.length >= payloads.length, 'every answer');
    expect(together.lines.map(parse)).toEqual(alone);
    together.socket.destroy();
    expected.forEach(([, message, id, code], i) => {
      expect(alone[i]).toEqual({
        v: 1,
        id,
        ok: false,
        error: { code: code ? `CLUSTERD_ERR_${code}` : control, message: expect.anything() },
      });
      expect(alone[i].error.message).toMatch(message);
    });
    await healthy(root, address);
  });

  it('refuses a request line over 64 KiB, however it arrives, and closes that connection', async () => {
    const { root, address, socket } = await chattyRoot();
    const sized = (bytes: number) => {
      const [head, tail] = ['{"v":1,"id":"', '","cmd":"status"}'];
      return `${head}${'x'.repeat(bytes - head.length - tail.length)}${tail}`;
    };
    const exchange = async (data: string) => {
      const peer = await connectTo(socket);
      peer.socket.write(data);
      await peer.closed;
      return peer.lines.map(parse);
    };
    const refused = [{ ok: false, error: { message: `request larger than ${LIMIT} bytes` } }];
    const atLimit = await connectTo(socket);
    atLimit.socket.write(`${sized(LIMIT)}\n`);
    await until(() => atLimit.lines.length > 0, 'the answer at the limit');
    expect(parse(atLimit.lines[0])).toMatchObject({ ok: true, result: { apps: [{ name: 'web' }] } });
    atLimit.socket.destroy();
    expect(await exchange(`${sized(LIMIT + 1)}\n`)).toMatchObject(refused);
    expect(await exchange(sized(200_000))).toMatchObject(refused);
    // 25,000 characters but 75,000 bytes: the limit counts bytes.
    expect(await exchange(`${'€'.repeat(25_000)}\n`)).toMatchObject(refused);

    // In 1 KiB pieces, each after the previous one left: refused only once past the limit.
    const slow = await connectTo(socket);
    let sent = 0;
    let sentWhenAnswered = -1;
    slow.socket.on('data', () => {
      if (sentWhenAnswered === -1) sentWhenAnswered = sent;
    });
    const line = sized(70 * 1024);
    for (let at = 0; at < line.length && slow.closedAt === null; at += 1024) {
      await new Promise<void>((resolve) => slow.socket.write(line.slice(at, at + 1024), () => resolve()));
      sent = at + 1024;
      await new Promise((r) => setTimeout(r, 2));
    }
    await slow.closed;
    expect(slow.lines.map(parse)).toMatchObject(refused);
    expect(sentWhenAnswered).toBeGreaterThan(LIMIT);
    await healthy(root, address);
  });

  it(`serves ${CONNECTIONS} of a flood of 1000 connections, refuses the rest with an error, and releases them all`, async () => {
    const { root, address, socket, pid } = await chattyRoot();
    await healthy(root, address);
    const before = { rss: rss(pid), fds: fds(pid) };
    // A third send garbage, a third a status request, a third nothing; none of them closes.
    const peers = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const peer = await connectTo(socket);
        if (i % 3 === 0) peer.socket.write('garbage\n');
        if (i % 3 === 1) peer.socket.write(request(i, 'status'));
        return { peer, kind: (['garbage', 'status', 'silent'] as const)[i % 3] };
      }),
    );
    const refusal = /^too many control connections \(256 open\)/;
    const isRefused = (peer: Peer) => refusal.test(parse(peer.lines[0] ?? '{}').error?.message);
    const refused = () => peers.filter(({ peer }) => isRefused(peer));
    const served = () => peers.filter(({ peer }) => !isRefused(peer));
    await until(
      () => refused().length === 1000 - CONNECTIONS,
      'every connection over the cap refused',
      15_000,
    );
    await until(
      () => served().every(({ peer, kind }) => kind === 'silent' || peer.lines.length > 0),
      'an answer for every request served',
      15_000,
    );
    for (const { peer, kind } of served()) {
      if (kind === 'garbage')
        expect(parse(peer.lines[0])).toMatchObject({ error: { message: 'malformed JSON' } });
      if (kind === 'status') expect(parse(peer.lines[0])).toMatchObject({ ok: true });
    }
    for (const { peer } of refused()) await peer.closed;
    const peak = { rss: rss(pid), fds: fds(pid) };
    // While the cap is reached, the CLI says so in one line.
    const busy = await runCli(['status'], { cwd: root.dir, env: root.env });
    expect([busy.code, busy.stderr]).toEqual([
      1,
      expect.stringMatching(
        /^clusterd: control socket: too many control connections \(256 open\); try again\n$/,
      ),
    ]);
    expect(root.events.filter((e) => e.msg.includes('refusing more'))).toHaveLength(1);

    for (const { peer } of peers) peer.socket.destroy();
    await until(() => fds(pid) <= before.fds + 2, 'the root to close every connection', 10_000);
    const statusMs = await healthy(root, address);
    const after = { rss: rss(pid), fds: fds(pid) };
    console.info(
      `flood of 1000 connections: RSS ${mib(before.rss)} -> ${mib(peak.rss)} (peak) -> ${mib(after.rss)} MiB, fds ${before.fds} -> ${peak.fds} -> ${after.fds}, status answered in ${statusMs} ms`,
    );
    expect(Math.abs(after.fds - before.fds)).toBeLessThanOrEqual(2);
    expect(after.rss - before.rss).toBeLessThan(32 * 1024 * 1024);
  });

  it('closes silent and half-open clients after 10 s, answers half-closed ones, survives leavers', async () => {
    const { root, address, socket, pid } = await chattyRoot();
    await get(address, '/chat?n=3000');
    await until(() => root.output.filter((l) => l.includes('chatty line')).length >= 3000, 'the output');
    const partial = await connectTo(socket);
    partial.socket.write('{"v":1,"id":1,"cmd":"sta');
    const silent = await connectTo(socket);
    const drip = await connectTo(socket);
    const dripping = setInterval(() => drip.socket.writable && drip.socket.write(' '), 250);
    const answered = await connectTo(socket);
    answered.socket.write(request(2, 'status'));
    // Half-closed right after its request: still answered, then closed.
    const halfClosed = await connectTo(socket);
    halfClosed.socket.end(JSON.stringify({ v: 1, id: 3, cmd: 'logs', lines: 10_000 }));
    // Leaves mid-answer; leaves before the answer of a reload, which still happens.
    const leaver = await connectTo(socket);
    leaver.socket.once('data', () => leaver.socket.destroy());
    leaver.socket.write(request(4, 'logs', { lines: 10_000 }));
    const reloaded = root.waitFor((e) => e.reload === 'done', 'the reload to finish');
    const reloader = await connectTo(socket);
    reloader.socket.write(request(5, 'reload'), () => reloader.socket.destroy());
    // Asks for 200 big answers at once and reads none of them.
    const rssBefore = rss(pid);
    const deaf = await connectTo(socket);
    deaf.socket.pause();
    deaf.socket.write(Array.from({ length: 200 }, (_, i) => request(i, 'logs', { lines: 10_000 })).join(''));

    await halfClosed.closed;
    // As much of the 3000 lines as the root keeps (256 KiB).
    expect(parse(halfClosed.lines[0]).result.lines.length).toBeGreaterThan(1000);
    await leaver.closed;
    await reloaded;
    await Promise.all([partial, silent, drip, answered].map((p) => p.closed));
    clearInterval(dripping);
    const idle = { ok: false, error: { message: `no complete request within ${IDLE_MS} ms; closing` } };
    for (const peer of [partial, silent, drip, answered]) {
      expect(parse(peer.lines.at(-1))).toMatchObject(idle);
      expect(Number(peer.closedAt) - peer.openedAt).toBeGreaterThanOrEqual(IDLE_MS - 100);
      expect(Number(peer.closedAt) - peer.openedAt).toBeLessThan(IDLE_MS + 5_000);
    }
    expect(parse(answered.lines[0])).toMatchObject({ id: 2, ok: true });
    // The deaf client is dropped too; it got at most a few answers, not 200.
    expect(rss(pid) - rssBefore).toBeLessThan(32 * 1024 * 1024);
    // Read only once the root has given up on it (its own idle time, plus the linger a closing connection
    // gets, passed): read earlier, it would be a client that reads, and get all 200. A fixed wait, to
    // prove the answers were NOT all sent.
    await new Promise((r) => setTimeout(r, Math.max(0, deaf.openedAt + IDLE_MS + 3_000 - Date.now())));
    deaf.socket.resume();
    await deaf.closed;
    expect(deaf.lines.length).toBeLessThan(10);
    await healthy(root, address);
  });

  it('disconnects a logs --follow client that stops reading instead of buffering its output', async () => {
    const { root, address, socket, pid } = await chattyRoot();
    const follower = await connectTo(socket);
    follower.socket.write(request('f', 'logs', { follow: true, lines: 0 }));
    expect((await get(address, '/chat?n=10')).status).toBe(200);
    await until(() => follower.lines.length > 0, 'followed output');
    follower.socket.pause();
    const rssBefore = rss(pid);
    let dropped = false;
    const event = root.waitFor((e) => e.msg.includes('fell more than'), 'the slow follower dropped');
    void event.then(() => {
      dropped = true;
    });
    let lines = 0;
    while (!dropped && lines < 500_000) {
      await get(address, '/chat?n=5000');
      lines += 5000;
    }
    await event;
    // More output once it is gone: nothing of it is kept for the follower.
    for (let i = 0; i < 10; i += 1) await get(address, '/chat?n=5000');
    lines += 50_000;
    const growth = rss(pid) - rssBefore;
    follower.socket.resume();
    await follower.closed;
    expect(parse(follower.lines.at(-1))).toMatchObject({
      id: 'f',
      ok: false,
      error: { message: 'logs --follow fell more than 1048576 bytes behind the output; disconnected' },
    });
    console.info(
      `slow follower: dropped after ${lines - 50_000} lines; it received ${mib(follower.bytes)} MiB of ${lines} lines (~${mib(lines * 160)} MiB); root RSS +${mib(growth)} MiB`,
    );
    expect(follower.bytes).toBeLessThan(4 * 1024 * 1024);
    expect(growth).toBeLessThan(32 * 1024 * 1024);
    await healthy(root, address);
  });

  it('shuts down promptly with followers, silent and half-open clients still connected', async () => {
    const { root, socket } = await chattyRoot();
    const follower = await connectTo(socket);
    follower.socket.write(request(1, 'logs', { follow: true, lines: 0 }));
    const silent = await connectTo(socket);
    const partial = await connectTo(socket);
    partial.socket.write('{"v":1,');
    await until(() => root.output.length > 0, 'the root to run');
    root.signal('SIGTERM');
    expect(await root.waitForExit(10_000)).toEqual({ code: 0, signal: null });
    await Promise.all([follower.closed, silent.closed, partial.closed]);
  });
});
