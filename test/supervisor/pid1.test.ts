// clusterd as PID 1 of its own PID namespace, as in a container without an init (`unshare --pid --fork
// --mount-proc`, which needs root): SIGTERM and SIGINT still stop it gracefully with exit code 0, a
// second signal stops it at once (128+N), it warns at start, and the limitation it warns of is real:
// the workers of a primary killed with SIGKILL stay zombies under it, since Node reaps only its own
// children (docs/deploy.md says to run it under an init).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/processes.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';

const isRoot = process.getuid?.() === 0;
const UNSHARE = ['unshare', '--pid', '--fork', '--mount-proc'];

/** Host pids of the children of `pid`, with their state letter (R, S, Z...). */
function children(pid: number): { pid: number; state: string }[] {
  const out: { pid: number; state: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid) out.push({ pid: Number(entry), state: String(state) });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** The host pid of the namespace's PID 1: unshare's one child. */
async function pidOne(root: Root): Promise<number> {
  await until(() => children(root.child.pid as number).length === 1, 'unshare to fork');
  return (children(root.child.pid as number)[0] as { pid: number }).pid;
}

// Root is needed to make a PID namespace: as another user this cannot run at all.
describe.skipIf(!isRoot)('clusterd as PID 1', () => {
  const config = { apps: [fixtureApp('web', 'http-server.cjs', { instances: 2, env: { PORT: 0 } })] };

  it.each([
    ['SIGTERM', 0],
    ['SIGINT', 0],
  ] as const)(
    'stops gracefully on %s with exit code %i, and warns that it is PID 1',
    async (signal, code) => {
      const root = startRoot(config, { wrap: UNSHARE });
      await root.running('web');
      expect(root.events.find((e) => /^clusterd started/.test(e.msg))?.msg).toMatch(/\(pid 1\)/);
      expect(root.events.some((e) => /^clusterd runs as PID 1: /.test(e.msg))).toBe(true);
      process.kill(await pidOne(root), signal);
      expect((await root.waitForExit()).code).toBe(code);
      expect(root.events.filter((e) => e.to === 'stopped' && e.worker !== undefined)).toHaveLength(2);
    },
  );

  it('stops at once on a second signal, with 128+N', async () => {
    const root = startRoot(
      { apps: [fixtureApp('web', 'ignores-sigterm.cjs', { instances: 1, env: { PORT: 0 } })] },
      { wrap: UNSHARE },
    );
    await root.running('web');
    const one = await pidOne(root);
    process.kill(one, 'SIGTERM');
    await root.waitFor((e) => e.to === 'draining', 'the drain');
    process.kill(one, 'SIGTERM');
    expect((await root.waitForExit()).code).toBe(143);
  });

  it('leaves the workers of a SIGKILLed primary as zombies: the limitation it warns of', async () => {
    const root = startRoot(config, { wrap: UNSHARE });
    await root.running('web');
    const one = await pidOne(root);
    const [primary] = children(one);
    const workers = children(primary?.pid as number).map((c) => c.pid);
    expect(workers).toHaveLength(2);
    process.kill(primary?.pid as number, 'SIGKILL');
    await root.waitFor((e) => e.msg === 'app running', 'the app back', {
      from: root.events.findIndex((e) => e.msg === 'app running') + 1,
    });
    // The old workers were killed (by the root), re-parented to PID 1, and never reaped.
    const zombies = children(one)
      .filter((c) => c.state === 'Z')
      .map((c) => c.pid);
    expect(zombies.sort()).toEqual(workers.sort());
    process.kill(one, 'SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
