// Another local user against a root clusterd: a runtime directory they made first (or one under a
// directory of theirs) is refused with who owns it, and the CLI refuses to talk to their fake server.
// These need root (useradd, chown); the user is created per test with a unique name and removed in
// afterEach, even when the test fails.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, lchownSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configId } from '../../src/control/paths.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { taggedProcesses } from '../helpers/processes.js';
import { FIXTURES, testEnv } from '../helpers/root.js';

const asRoot = process.getuid?.() === 0;
const users: string[] = [];
const servers: Server[] = [];

afterEach(() => {
  for (const server of servers.splice(0)) server.close();
  for (const name of users.splice(0)) execFileSync('userdel', [name], { stdio: 'ignore' });
});

// A local account that owns nothing but what the test gives it.
function otherUser(): { name: string; uid: number } {
  const name = `cdtest-${randomBytes(4).toString('hex')}`;
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', name], { stdio: 'ignore' });
  users.push(name);
  return { name, uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim()) };
}

function project() {
  const dir = writeFiles(tempDir(), {
    'cluster.config.json': JSON.stringify({
      apps: [{ name: 'web', script: join(FIXTURES, 'http-server.cjs'), instances: 1 }],
    }),
  });
  const env = testEnv();
  return { dir, env, tag: String(env.CLUSTERD_TEST_TAG) };
}

describe.skipIf(!asRoot)('another local user (needs root: useradd and chown)', () => {
  it('refuses a runtime directory the other user created first, saying who owns it', async () => {
    const user = otherUser();
    const { dir, env, tag } = project();
    // As in /tmp: a sticky world-writable parent where the other user made the directory first.
    const base = tempDir();
    chmodSync(base, 0o1777);
    const runtime = join(base, 'clusterd-0');
    mkdirSync(runtime, { mode: 0o700 });
    chownSync(runtime, user.uid, user.uid);
    const start = await runCli(['start'], { cwd: dir, env: { ...env, RUNTIME_DIRECTORY: runtime } });
    expect([start.code, start.stderr]).toEqual([
      1,
      `clusterd: refusing ${runtime}: ${runtime} is owned by ${user.name} (uid ${user.uid}), not by you (root (uid 0)); fix or remove it\n`,
    ]);
    expect(taggedProcesses(tag)).toEqual([]);
  });

  it('refuses a runtime directory of its own under a directory the other user owns', async () => {
    const user = otherUser();
    const { dir, env } = project();
    const base = tempDir();
    chownSync(base, user.uid, user.uid);
    const runtime = join(base, 'clusterd');
    const start = await runCli(['start'], { cwd: dir, env: { ...env, RUNTIME_DIRECTORY: runtime } });
    expect([start.code, start.stderr]).toEqual([
      1,
      `clusterd: refusing ${runtime}: ${base} (above ${runtime}) is owned by ${user.name} (uid ${user.uid}), neither by you nor by root; fix or remove it\n`,
    ]);
  });

  it("never talks to the other user's fake server, in their directory or as their socket in ours", async () => {
    const user = otherUser();
    const { dir, env } = project();
    const runtime = join(tempDir(), 'clusterd');
    mkdirSync(runtime, { mode: 0o700 });
    const socket = join(runtime, `${configId(join(dir, 'cluster.config.json'))}.sock`);
    let connections = 0;
    const fake = createServer((peer) => {
      connections += 1;
      peer.end(`${JSON.stringify({ v: 1, id: null, ok: true, result: { pid: 1, apps: [] } })}\n`);
    });
    servers.push(fake);
    await new Promise<void>((resolve) => fake.listen(socket, resolve));
    const own = `root (uid 0)`;
    const theirs = `${user.name} (uid ${user.uid})`;

    lchownSync(socket, user.uid, user.uid);
    const asTheirs = await runCli(['status'], { cwd: dir, env: { ...env, RUNTIME_DIRECTORY: runtime } });
    expect([asTheirs.code, asTheirs.stderr]).toEqual([
      1,
      `clusterd: refusing to use the control socket ${socket}: ${socket} is owned by ${theirs}, not by you (${own}); nothing was sent\n`,
    ]);

    chownSync(runtime, user.uid, user.uid);
    const inTheirs = await runCli(['shutdown'], { cwd: dir, env: { ...env, RUNTIME_DIRECTORY: runtime } });
    expect([inTheirs.code, inTheirs.stderr]).toEqual([
      1,
      `clusterd: refusing to use the control socket ${socket}: ${runtime} is owned by ${theirs}, not by you (${own}); nothing was sent\n`,
    ]);
    expect(connections).toBe(0);
  });
});
