// The programmatic client (`import { connect } from 'clusterd'`) against a real running clusterd: every
// method, logs as an async iterator (recent lines, then live until the loop is left), the root's events
// while a reload runs, a config nothing runs for, and an app that does not exist.
import { describe, expect, it } from 'vitest';
import {
  type Client,
  ClusterdError,
  ConfigError,
  connect,
  ErrorCode,
  type LogEvent,
} from '../../src/index.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { get, getJson } from '../helpers/http.js';
import { fixtureApp, type Root, startRoot, testEnv } from '../helpers/root.js';

const web = fixtureApp('web', 'http-server.cjs', { instances: 2 });
const api = fixtureApp('api', 'http-server.cjs', { instances: 1 });

async function started(apps: object[]): Promise<{ root: Root; client: Client }> {
  const root = startRoot({ apps });
  await Promise.all(apps.map((a) => root.running((a as { name: string }).name)));
  return { root, client: await connect({ cwd: root.dir, env: root.env }) };
}

// The workers that serve (one replaced a moment ago may still be draining).
const pidsOf = async (client: Client, app: string) =>
  (await client.status()).apps
    .find((a) => a.name === app)
    ?.workers.filter((w) => w.state === 'ready')
    .map((w) => w.pid)
    .sort();

describe('the programmatic client', () => {
  it('runs every command as a typed method, and shutdown ends the clusterd', async () => {
    const { root, client } = await started([web, api]);
    expect(client.config).toBe(`${root.dir}/cluster.config.json`);
    const status = await client.status();
    expect(status).toMatchObject({ pid: root.child.pid, environment: null });
    expect(status.apps.map((a) => [a.name, a.state, a.workers.length])).toEqual([
      ['web', 'running', 2],
      ['api', 'running', 1],
    ]);

    const before = await pidsOf(client, 'web');
    expect(await client.reload('web')).toEqual([{ app: 'web', replaced: 2, ms: expect.any(Number) }]);
    expect((await pidsOf(client, 'web'))?.filter((p) => before?.includes(p))).toEqual([]);
    expect((await client.reload()).map((r) => r.app)).toEqual(['web', 'api']);

    const apiBefore = await pidsOf(client, 'api');
    expect(await client.restart('api', { timeout: 20_000 })).toEqual(['api']);
    expect(await pidsOf(client, 'api')).not.toEqual(apiBefore);

    expect(await client.scale('web', '+1')).toEqual({ app: 'web', from: 2, to: 3 });
    expect(await client.scale('web', 1)).toEqual({ app: 'web', from: 3, to: 1 });
    expect(await client.stop('api')).toEqual(['api']);
    expect((await client.status()).apps.map((a) => a.state)).toEqual(['running', 'stopped']);
    await client.start('api');
    expect((await client.status()).apps.map((a) => a.state)).toEqual(['running', 'running']);

    expect(await client.shutdown()).toEqual({ pid: root.child.pid });
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
    await expect(client.status()).rejects.toMatchObject({ code: ErrorCode.NOT_RUNNING });
  });

  it('reads recent output, then follows live output until the loop is left', async () => {
    const { root, client } = await started([{ ...web, instances: 1 }]);
    const address = await root.address('web');
    await get(address, '/slow?ms=1');
    await root.waitFor((e) => e.msg.startsWith('slow request started'), 'a line of output');
    const recent: string[] = [];
    for await (const line of client.logs({ app: 'web', lines: 5 })) recent.push(line);
    expect(recent.map((l) => JSON.parse(l).msg)).toContain('slow request started on worker 0');

    const follow = client.logs({ follow: true, lines: 0 });
    // Output goes on until the follower has seen some (it connects in the meantime).
    const producing = setInterval(() => void get(address, '/slow?ms=1').catch(() => {}), 50);
    let seen: string | undefined;
    try {
      for await (const line of follow) {
        seen = line;
        break;
      }
    } finally {
      clearInterval(producing);
    }
    expect(JSON.parse(String(seen))).toMatchObject({ app: 'web', stream: 'stdout' });
    // Left: the connection is closed, and a later follower is served as usual.
    expect(await follow.next()).toEqual({ value: undefined, done: true });
    const again = client.logs({ follow: true, lines: 1 });
    expect((await again.next()).done).toBe(false);
    client.close();
    expect(await again.next()).toEqual({ value: undefined, done: true });
    root.signal('SIGTERM');
    await root.waitForExit();
  });

  it('streams the events the root logs, as objects, while a reload runs, and ends with the clusterd', async () => {
    const { root, client } = await started([web]);
    const events = client.events({ app: 'web' });
    const seen: LogEvent[] = [];
    const reading = (async () => {
      for await (const event of events) {
        seen.push(event);
        if (event.reload === 'done') return;
      }
    })();
    // Once it streams, every event of the reload is delivered.
    await events.ready;
    const first = root.events.length;
    await Promise.all([reading, client.reload('web')]);
    const transitions = seen.filter((e) => e.worker !== undefined).map((e) => [e.worker, e.to]);
    expect(seen[0]).toMatchObject({ app: 'web', reload: 'started', level: 30, msg: 'reload started' });
    for (const worker of [0, 1])
      for (const to of ['starting', 'ready', 'draining']) expect(transitions).toContainEqual([worker, to]);
    expect(seen.at(-1)).toMatchObject({ app: 'web', reload: 'done', replaced: 2, time: expect.any(Number) });
    // The same events as the log, field for field.
    const logged = root.events.slice(first).find((e) => e.reload === 'done');
    expect(seen.at(-1)).toEqual(logged);

    // A stream ends, without an error, when the clusterd stops.
    const all = client.events();
    const ended = (async () => {
      const got: LogEvent[] = [];
      for await (const event of all) got.push(event);
      return got;
    })();
    await all.ready;
    await client.shutdown();
    const got = await ended;
    expect(got.map((e) => e.msg)).toContain('app stopped');
    await root.waitForExit();
  });

  it('says which clusterd is not running, and which app does not exist', async () => {
    const dir = writeFiles(tempDir(), {
      'cluster.config.json': JSON.stringify({ apps: [{ ...web, instances: 1 }] }),
    });
    const env = testEnv();
    await expect(connect({ cwd: dir, env })).rejects.toThrow(
      expect.objectContaining({
        name: 'ClusterdError',
        code: ErrorCode.NOT_RUNNING,
        message: `clusterd is not running for ${dir}/cluster.config.json`,
      }),
    );
    await expect(connect({ cwd: tempDir(), env })).rejects.toMatchObject({
      code: ErrorCode.CONFIG_NOT_FOUND,
    });

    const { root, client } = await started([{ ...web, instances: 1 }]);
    const unknown = { code: ErrorCode.UNKNOWN_APP, message: 'no app named "nope" (apps: web)' };
    for (const call of [
      () => client.reload('nope'),
      () => client.restart('nope'),
      () => client.scale('nope', 2),
      () => client.stop('nope'),
      () => client.start('nope'),
    ])
      await expect(call()).rejects.toMatchObject(unknown);
    await expect(client.logs({ app: 'nope' }).next()).rejects.toMatchObject(unknown);
    await expect(client.logs({ app: 'nope', follow: true }).next()).rejects.toMatchObject(unknown);
    await expect(client.events({ app: 'nope' }).next()).rejects.toMatchObject(unknown);
    const failed = await client.scale('web', 0).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ClusterdError);
    expect(failed).toMatchObject({
      code: ErrorCode.SCALE_FAILED,
      message: expect.stringMatching(/between 1 and 1024/),
    });
    // Still serving after all of it.
    expect(await getJson(await root.address('web'))).toMatchObject({ app: 'web' });

    // `up` on a config that became invalid: the problems, and nothing changed.
    writeFiles(root.dir, { 'cluster.config.json': JSON.stringify({ apps: [{ ...web, instanses: 2 }] }) });
    const invalid = await client.up().catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ConfigError);
    expect((invalid as ConfigError).issues).toEqual([
      expect.objectContaining({ code: ErrorCode.CONFIG_UNKNOWN_KEY, pointer: '/apps/0/instanses' }),
    ]);
    root.signal('SIGTERM');
    await root.waitForExit();
  });
});
