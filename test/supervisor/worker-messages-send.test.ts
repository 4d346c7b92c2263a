// Messages from and to outside with a real clusterd (test/fixtures/messages-app.mjs): `clusterd send`
// and the client's `send` reach the workers' onMessage handlers (all, or --worker N), what it prints and
// its exit codes; a worker's `publish` shows in `clusterd events` and in the client's events(); and a
// Buffer broadcast between workers arrives as a Buffer with `serialization: "advanced"`, as
// `{ type, data }` with the default "json".
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { BIN, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/files.js';
import { readLines } from '../helpers/messages-log.js';
import { until } from '../helpers/processes.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';

function start() {
  const dir = tempDir();
  const logs = { json: join(dir, 'json.jsonl'), advanced: join(dir, 'advanced.jsonl') };
  const root = startRoot({
    apps: [
      fixtureApp('js', 'messages-app.mjs', { instances: 2, env: { MSG_LOG: logs.json } }),
      fixtureApp('adv', 'messages-app.mjs', {
        instances: 2,
        serialization: 'advanced',
        env: { MSG_LOG: logs.advanced },
      }),
    ],
  });
  return { root, logs };
}

const cli = (root: Root, args: string[]) => runCli(args, { cwd: root.dir, env: root.env });

describe('messages from and to outside', () => {
  it('delivers clusterd send to every worker or one, with its output and exit codes', async () => {
    const { root, logs } = start();
    await root.running('js');
    await root.running('adv');

    const all = await cli(root, ['send', 'js', 'cmd', '{"id":"all"}']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^js: sent cmd to 2 workers: 0 \(pid \d+\), 1 \(pid \d+\)\n$/);
    const one = await cli(root, ['send', 'js', 'cmd', '{"id":"one"}', '--worker', '1', '--json']);
    expect(one.code, one.stderr).toBe(0);
    const result = JSON.parse(one.stdout) as { app: string; topic: string; workers: { worker: number }[] };
    expect(result).toMatchObject({ app: 'js', topic: 'cmd', workers: [{ worker: 1 }] });
    await until(
      () => readLines(logs.json).filter((l) => l.ev === 'cmd').length === 3,
      'the three deliveries',
    );
    const got = readLines(logs.json).filter((l) => l.ev === 'cmd');
    expect(got.every((l) => l.outside === true)).toBe(true);
    expect(got.filter((l) => (l.cmd as { id: string }).id === 'one').map((l) => l.slot)).toEqual([1]);
    expect(
      got
        .filter((l) => (l.cmd as { id: string }).id === 'all')
        .map((l) => l.slot)
        .sort(),
    ).toEqual([0, 1]);

    const cases: [string[], number, RegExp][] = [
      [['send', 'nope', 'cmd', '1'], 1, /CLUSTERD_ERR_UNKNOWN_APP|no app named "nope"/],
      [['send', 'js', 'cmd', '1', '--worker', '7'], 1, /no worker 7 is up/],
      [['send', 'js', 'cmd', '{not json'], 64, /must be JSON/],
      [['send', 'js', 'a topic', '1'], 64, /a topic is 1 to 128 characters/],
      [['send', 'js', 'cmd'], 64, /usage: clusterd send/],
      [['send', 'js', 'cmd', '1', '--worker', '-1'], 64, /--worker must be a worker number/],
    ];
    for (const [args, code, text] of cases) {
      const r = await cli(root, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
      expect(r.stderr).toMatch(text);
    }
    const json = await cli(root, ['send', 'js', 'cmd', '1', '--worker', '7', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'CLUSTERD_ERR_UNKNOWN_WORKER' } });

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it("shows a worker's publish in clusterd events and the client's events()", async () => {
    const { root } = start();
    await root.running('js');
    const client = await connect({ cwd: root.dir, env: root.env });
    const stream = client.events({ app: 'js' });
    await stream.ready;
    // `clusterd events` as a user runs it; it streams from when its request arrives.
    const events = spawn(process.execPath, [BIN, 'events', 'js', '--json'], { cwd: root.dir, env: root.env });
    let printed = '';
    events.stdout.setEncoding('utf8').on('data', (d: string) => {
      printed += d;
    });
    try {
      const publish = { do: 'publish', topic: 'deploy:done', data: { sha: 'abc', n: 1 } };
      // Published again until the CLI, which has no "ready" line, shows one.
      const shown = () => printed.includes('"publish":"deploy:done"');
      for (let attempt = 0; attempt < 20 && !shown(); attempt++) {
        await client.send('js', 'cmd', publish, { worker: 0 });
        await until(shown, 'clusterd events to show the publish', 500).catch(() => {});
      }
      expect(shown(), printed).toBe(true);
      const line = printed.split('\n').find((l) => l.includes('"publish":"deploy:done"')) as string;
      expect(JSON.parse(line)).toMatchObject({
        app: 'js',
        worker: 0,
        publish: 'deploy:done',
        data: { sha: 'abc', n: 1 },
        msg: 'publish deploy:done',
      });
      for await (const event of stream)
        if (event.publish === 'deploy:done') {
          expect(event).toMatchObject({ app: 'js', worker: 0, data: { sha: 'abc', n: 1 } });
          break;
        }
    } finally {
      events.kill();
      stream.close();
      client.close();
    }
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('keeps a Buffer a Buffer with serialization "advanced"', async () => {
    const { root, logs } = start();
    await root.running('js');
    await root.running('adv');
    const hex = '00ff10abcdef';
    for (const app of ['js', 'adv'])
      expect(
        (await cli(root, ['send', app, 'cmd', JSON.stringify({ do: 'buf', hex }), '--worker', '0'])).code,
      ).toBe(0);
    await until(
      () =>
        readLines(logs.json).some((l) => l.ev === 'buf') &&
        readLines(logs.advanced).some((l) => l.ev === 'buf'),
      'both Buffers',
    );
    expect(readLines(logs.advanced).find((l) => l.ev === 'buf')).toMatchObject({
      slot: 1,
      isBuffer: true,
      hex,
    });
    expect(readLines(logs.json).find((l) => l.ev === 'buf')).toMatchObject({ slot: 1, isBuffer: false, hex });
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
