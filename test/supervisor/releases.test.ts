// The zero-downtime deploy layout: `current -> releases/N`, switched with `ln -sfn`, then `clusterd reload`.
// `script` and `cwd` are resolved when settings reach the primary (a start, a deploy), so the reload runs
// the new release while the old workers keep the files they started with, and an old worker that
// restarts after a failed reload runs the old release again; status and the `starting` event say which.
import { mkdirSync, realpathSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/files.js';
import { getJson } from '../helpers/http.js';
import { startRoot } from '../helpers/root.js';

// A release: answers with its own name (from the file next to it) and its working directory.
const server = `
const { readFileSync } = require('node:fs');
const release = readFileSync('RELEASE', 'utf8');
require('node:http')
  .createServer((_req, res) => res.end(JSON.stringify({ release, cwd: process.cwd(), pid: process.pid })))
  .listen(0, '127.0.0.1');
`;

function release(base: string, name: string): string {
  const dir = join(base, 'releases', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'server.js'), server);
  writeFileSync(join(dir, 'RELEASE'), name);
  return dir;
}

// `ln -sfn releases/<name> current`: a new link renamed over the old one, atomically.
function switchTo(base: string, name: string): void {
  symlinkSync(join('releases', name), join(base, 'current.new'));
  renameSync(join(base, 'current.new'), join(base, 'current'));
}

describe('release directories', () => {
  it('reloads onto the release `current` points at, and shows which release each worker runs', async () => {
    const base = tempDir();
    release(base, 'one');
    const two = release(base, 'two');
    switchTo(base, 'one');
    const root = startRoot({
      apps: [{ name: 'web', script: 'server.js', cwd: join(base, 'current'), instances: 2 }],
    });
    await root.running('web');
    const address = await root.address('web');
    expect(await getJson(address)).toMatchObject({
      release: 'one',
      cwd: realpathSync(join(base, 'releases/one')),
    });
    const started = root.events.filter((e) => e.app === 'web' && e.to === 'starting');
    expect(started.map((e) => e.script)).toEqual([
      realpathSync(join(base, 'releases/one/server.js')),
      realpathSync(join(base, 'releases/one/server.js')),
    ]);

    switchTo(base, 'two');
    const reload = await runCli(['reload', 'web'], { cwd: root.dir, env: root.env });
    expect(reload.code, reload.stderr).toBe(0);
    for (let i = 0; i < 10; i++)
      expect(await getJson(address)).toMatchObject({ release: 'two', cwd: realpathSync(two) });

    const status = JSON.parse((await runCli(['status', '--json'], { cwd: root.dir, env: root.env })).stdout);
    const workers = status.apps[0].workers as { script: string; state: string }[];
    expect(workers.map((w) => [w.state, w.script])).toEqual([
      ['ready', join(realpathSync(two), 'server.js')],
      ['ready', join(realpathSync(two), 'server.js')],
    ]);
    const table = await runCli(['status'], { cwd: root.dir, env: root.env });
    expect(table.stdout).toMatch(/SCRIPT/);
    expect(table.stdout.match(/releases\/two\/server\.js/g)).toHaveLength(2);

    // validate shows where the link points now.
    const validate = await runCli(['validate', 'cluster.config.json'], { cwd: root.dir, env: root.env });
    expect(validate.stdout).toMatch(/script {4}\S*current\/server\.js \(now \S*releases\/two\/server\.js\)/);
    expect(validate.stdout).toMatch(/cwd {7}\S*current \(now \S*releases\/two\)/);
  });

  it('keeps serving the old release when the new one fails to start', async () => {
    const base = tempDir();
    release(base, 'one');
    const broken = release(base, 'broken');
    writeFileSync(join(broken, 'server.js'), 'throw new Error("broken release");');
    switchTo(base, 'one');
    const root = startRoot({
      apps: [{ name: 'web', script: 'server.js', cwd: join(base, 'current'), instances: 2 }],
    });
    const address = await root.address('web');
    switchTo(base, 'broken');
    const reload = await runCli(['reload', 'web'], { cwd: root.dir, env: root.env });
    expect(reload.code).not.toBe(0);
    expect(reload.stderr).toMatch(/broken release/);
    expect(await getJson(address)).toMatchObject({ release: 'one' });
    // An old worker that dies now restarts on the release it ran, not the one `current` points at.
    const status = JSON.parse((await runCli(['status', '--json'], { cwd: root.dir, env: root.env })).stdout);
    const victim = status.apps[0].workers[0].pid as number;
    const from = root.events.length;
    process.kill(victim, 'SIGKILL');
    const restarted = await root.waitFor(
      (e) => e.app === 'web' && e.to === 'ready',
      'the restarted worker ready',
      {
        from,
      },
    );
    expect(restarted.pid).not.toBe(victim);
    const starting = root.events.slice(from).find((e) => e.to === 'starting');
    expect(starting?.script).toBe(realpathSync(join(base, 'releases/one/server.js')));
    for (let i = 0; i < 6; i++) expect(await getJson(address)).toMatchObject({ release: 'one' });
    // So does every worker of a primary restarted after it died: the rollback holds.
    const primary = status.apps[0].primary as number;
    const again = root.events.length;
    process.kill(primary, 'SIGKILL');
    await root.waitFor((e) => e.app === 'web' && e.to === 'running', 'web running again', { from: again });
    // (The fixture listens on port 0: a new primary, a new port.)
    const ready = root.events.slice(again).find((e) => e.app === 'web' && e.to === 'ready');
    const address2 = String(ready?.address);
    const restarted2 = root.events.slice(again).filter((e) => e.to === 'starting');
    expect(restarted2.map((e) => e.script)).toEqual([
      realpathSync(join(base, 'releases/one/server.js')),
      realpathSync(join(base, 'releases/one/server.js')),
    ]);
    for (let i = 0; i < 6; i++) expect(await getJson(address2)).toMatchObject({ release: 'one' });
    // A reload is the deploy again: onto the release current points at.
    writeFileSync(join(broken, 'server.js'), server);
    const retry = await runCli(['reload', 'web'], { cwd: root.dir, env: root.env });
    expect(retry.code, retry.stderr).toBe(0);
    for (let i = 0; i < 6; i++) expect(await getJson(address2)).toMatchObject({ release: 'broken' });
  });
});
