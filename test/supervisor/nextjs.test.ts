// A real Next.js app, as PM2 users run it (`script: 'npm', args: 'start'`, `next start` in package.json),
// converted by `clusterd import pm2` and reloaded three times under keep-alive load: 0 failed requests,
// every worker replaced each time, nothing left once clusterd stops. The app is built once per file.
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCommand } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/files.js';
import { freePort, get } from '../helpers/http.js';
import { startLoad } from '../helpers/load.js';
import { taggedProcesses, until } from '../helpers/processes.js';
import { FIXTURES, type LogEvent, startRoot } from '../helpers/root.js';

const NEXT_BIN = join(REPO_ROOT, 'node_modules/next/dist/bin/next');
const NEXT_ENV = { NEXT_TELEMETRY_DISABLED: '1' };

let project = '';
let port = 0;
let buildMs = 0;

// The fixture copied to its own directory, its node_modules a link to the repository's (next, react),
// with the test's port in its ecosystem file, and built. `--webpack`: Turbopack (Next 16's default)
// refuses a node_modules that links outside the project; what `next start` serves is the same.
beforeAll(async () => {
  project = realpathSync(mkdtempSync(join(tmpdir(), 'clusterd-next-')));
  cpSync(join(FIXTURES, 'next-app'), project, { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(project, 'node_modules'));
  port = await freePort();
  const ecosystem = join(project, 'ecosystem.config.js');
  writeFileSync(ecosystem, readFileSync(ecosystem, 'utf8').replace('PORT: 3000', `PORT: ${port}`));
  const started = Date.now();
  const build = await runCommand(process.execPath, [NEXT_BIN, 'build', '--webpack'], {
    cwd: project,
    env: { ...process.env, ...NEXT_ENV },
    timeoutMs: 170_000,
  });
  expect(build.code, build.stdout + build.stderr).toBe(0);
  buildMs = Date.now() - started;
}, 180_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

// The clusterd config of the project, as `clusterd import pm2` writes it from the ecosystem file.
async function configFor(dir: string): Promise<object> {
  const imported = await runCli(['import', 'pm2', 'ecosystem.config.js'], { cwd: dir });
  expect(imported.code, imported.stderr).toBe(0);
  return JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8'));
}

const readyPids = (events: LogEvent[], from: number) =>
  events
    .slice(from)
    .filter((e) => e.app === 'web' && e.to === 'ready')
    .map((e) => e.pid as number);

describe('a Next.js app imported from its PM2 ecosystem file', () => {
  it('serves through 3 rolling reloads under keep-alive load with 0 failed requests', async () => {
    const config = await configFor(project);
    // startRoot writes the same config back to cluster.config.json and runs `clusterd start` on it.
    const root = startRoot(config, { dir: project, env: NEXT_ENV });
    await root.running('web');
    const address = `127.0.0.1:${port}`;
    const page = await get(address, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('hello from next, worker');

    let pids = readyPids(root.events, 0);
    const reloadMs: unknown[] = [];
    expect(pids).toHaveLength(2);
    const load = startLoad(address, { connections: 16, maxSeconds: 30 });
    await load.after(50);
    for (let i = 0; i < 3; i++) {
      const from = root.events.length;
      const reload = await runCli(['reload', 'web'], { cwd: root.dir, env: root.env, timeoutMs: 60_000 });
      expect(reload.code, reload.stderr).toBe(0);
      const done = await root.waitFor((e) => e.app === 'web' && e.reload === 'done', 'the reload', { from });
      const now = readyPids(root.events, from);
      expect(now, `reload ${i + 1} (${done.ms} ms)`).toHaveLength(2);
      for (const pid of now) expect(pids).not.toContain(pid);
      pids = now;
      reloadMs.push(done.ms);
      await load.after(50);
    }
    const stats = await load.stop();
    expect(stats).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0, resets: 0 });
    expect(stats.ok).toBe(stats.requests);
    expect(stats.requests).toBeGreaterThan(200);
    console.info(
      `next: built in ${buildMs} ms; ${stats.requests} requests, 0 failed, p99 ${stats.p99} ms; reloads ${reloadMs.join(', ')} ms`,
    );

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    await until(() => taggedProcesses(root.tag).length === 0, 'every process to exit', 5_000);
  }, 90_000);
});
