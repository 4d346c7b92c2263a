// What an app starts is stopped with the worker that started it: a `sleep` child, a node child and its
// `sleep` grandchild (test/fixtures/spawns-children.cjs), after every way a worker ends. Each test
// names the pids it expects gone; the root helper also checks that no tagged process is left at all.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { isAlive, taggedProcesses, until } from '../helpers/processes.js';
import { fixtureApp, type LogEvent, type Root, startRoot } from '../helpers/root.js';

interface Tree {
  worker: number;
  /** Every process the worker started, children and grandchild. */
  below: number[];
}

const isTree = (e: LogEvent) => e.app === 'web' && String(e.msg).startsWith('tree ');

function parseTree(e: LogEvent): Tree {
  const [worker, ...below] = String(e.msg).split(' ').slice(1).map(Number);
  return { worker: worker as number, below };
}

// The trees the workers printed, from event `from` on, once `count` of them are up.
async function trees(root: Root, count: number, from = 0): Promise<Tree[]> {
  const events = await root.waitForCount((e) => root.events.indexOf(e) >= from && isTree(e), count, 'trees');
  return events.map(parseTree);
}

const app = (extra: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
  fixtureApp('web', 'spawns-children.cjs', { instances: 2, ...extra, env });

const allGone = (pids: number[]) => pids.every((pid) => !isAlive(pid));
const allAlive = (pids: number[]) => pids.every((pid) => isAlive(pid));

describe('worker process trees', () => {
  it('stops the old workers’ descendants in a reload, and the new ones’ at shutdown', async () => {
    const root = startRoot({ apps: [app()] });
    await root.running('web');
    const old = await trees(root, 2);
    expect(old.flatMap((t) => t.below)).toHaveLength(6);
    expect(allAlive(old.flatMap((t) => t.below))).toBe(true);
    const mark = root.events.length;
    root.signal('SIGUSR2');
    await root.waitFor((e) => e.app === 'web' && e.reload === 'done', 'the reload', { from: mark });
    const fresh = await trees(root, 2, mark);
    // The old workers' whole trees end with them (the primary waits for nothing: SIGTERM ends sleep).
    await until(() => allGone(old.flatMap((t) => [t.worker, ...t.below])), 'the old trees to end', 2_000);
    expect(allAlive(fresh.flatMap((t) => [t.worker, ...t.below]))).toBe(true);
    root.signal('SIGTERM');
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
    // Nothing is left when the root has exited: the primary waited for its workers' trees.
    expect(taggedProcesses(root.tag)).toEqual([]);
  });

  it('stops the descendants of a worker scaled away, and of the app stopped by `clusterd stop`', async () => {
    const root = startRoot({ apps: [app()] });
    await root.running('web');
    const [a, b] = await trees(root, 2);
    const scale = await runCli(['scale', 'web', '1'], { cwd: root.dir, env: root.env });
    expect(scale.code, scale.stderr).toBe(0);
    const both = [a, b] as Tree[];
    // `scale` answers once the worker scaled away has exited; its tree ends with it.
    await until(() => both.some((t) => allGone([t.worker, ...t.below])), 'one tree to end', 2_000);
    const kept = both.find((t) => allAlive([t.worker, ...t.below])) as Tree;
    expect(kept, 'the other tree is untouched').toBeDefined();
    const stop = await runCli(['stop', 'web'], { cwd: root.dir, env: root.env });
    expect(stop.code, stop.stderr).toBe(0);
    // `clusterd stop` answers once the app's primary is done, trees included.
    expect(allGone([kept.worker, ...kept.below])).toBe(true);
    expect(taggedProcesses(root.tag)).toEqual([root.child.pid]);
    const shutdown = await runCli(['shutdown'], { cwd: root.dir, env: root.env });
    expect(shutdown.code, shutdown.stderr).toBe(0);
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('stops what a crashed worker left behind (its children are orphans by then)', async () => {
    const root = startRoot({ apps: [app({ instances: 1, cwd: '.' }, { TREE_CRASH_ONCE: 'crashed' })] });
    const [crashed] = await trees(root, 1);
    await root.waitFor((e) => e.app === 'web' && e.to === 'crashed', 'the crash');
    await until(() => allGone((crashed as Tree).below), 'the orphans to end', 2_000);
    await root.running('web');
    const [replacement] = await trees(root, 1, root.events.indexOf(root.events.find(isTree) as LogEvent) + 1);
    expect(allAlive([(replacement as Tree).worker, ...(replacement as Tree).below])).toBe(true);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('stops the descendants of a worker stopped for not getting ready in time', async () => {
    const root = startRoot({
      apps: [app({ instances: 1, readyTimeout: '1s' }, { TREE_LISTEN: '0' })],
    });
    const [first] = await trees(root, 1);
    const failed = await root.waitFor((e) => e.app === 'web' && e.to === 'crashed', 'the readiness timeout');
    // Stopped as any worker is: the stop signal to the worker and its tree, which all end on it, well
    // before the SIGKILL at shutdown.timeout (5 s).
    expect(String(failed.reason)).toMatch(/^not ready within 1s .*; stopped with SIGTERM after \d+ms$/);
    await until(() => allGone([(first as Tree).worker, ...(first as Tree).below]), 'the tree to end', 1_000);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('SIGKILLs a descendant that ignores the stop signal at shutdown.timeout, not before', async () => {
    const root = startRoot({
      apps: [app({ instances: 1, shutdown: { timeout: '800ms' } }, { TREE_CHILD_IGNORES_TERM: '1' })],
    });
    await root.running('web');
    const [tree] = await trees(root, 1);
    const [sleep, nodeChild, grandchild] = (tree as Tree).below as [number, number, number];
    const stoppedAt = Date.now();
    root.signal('SIGTERM');
    // The worker and the two sleeps end on SIGTERM; the node child ignores it...
    await until(() => allGone([(tree as Tree).worker, sleep, grandchild]), 'SIGTERM to end the rest', 2_000);
    expect(isAlive(nodeChild)).toBe(true);
    // ... until its SIGKILL at the timeout, and the root's exit waits for it.
    expect(await root.waitForExit()).toEqual({ code: 0, signal: null });
    const took = Date.now() - stoppedAt;
    expect(isAlive(nodeChild)).toBe(false);
    expect(took).toBeGreaterThanOrEqual(800);
    const logged = root.output.some((l) => l.includes("killed processes left in the primary's group"));
    expect(logged, 'the primary stops its own tree; the root finds nothing').toBe(false);
  });

  it('stops a child that left the process group (spawn detached: true) in a graceful stop', async () => {
    const root = startRoot({ apps: [app({ instances: 1 }, { TREE_DETACHED: '1' })] });
    await root.running('web');
    const [tree] = await trees(root, 1);
    const detached = (tree as Tree).below.at(-1) as number;
    expect((tree as Tree).below).toHaveLength(4);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    expect(allGone([(tree as Tree).worker, ...(tree as Tree).below, detached])).toBe(true);
  });

  it('stops the trees of a primary killed with SIGKILL: its root sweeps the group', async () => {
    const root = startRoot({ apps: [app()] });
    await root.running('web');
    const old = await trees(root, 2);
    const primary = root.events.find((e) => typeof e.primary === 'number')?.primary as number;
    const mark = root.events.length;
    process.kill(primary, 'SIGKILL');
    await root.running('web', mark);
    await until(() => allGone(old.flatMap((t) => [t.worker, ...t.below])), 'the old trees to end', 1_000);
    await trees(root, 2, mark);
    const swept = await root.waitFor((e) => e.app === 'web' && Array.isArray(e.pids), 'the sweep');
    expect(swept.msg).toBe("killed processes left in the primary's group");
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('stops every tree within a second when the root is killed with SIGKILL', async () => {
    const root = startRoot({ apps: [app({}, { TREE_CHILD_IGNORES_TERM: '1' })] });
    await root.running('web');
    const all = (await trees(root, 2)).flatMap((t) => [t.worker, ...t.below]);
    root.child.kill('SIGKILL');
    await root.waitForExit();
    // A SIGTERM-proof node child included: with its root gone, the primary SIGKILLs at once.
    const took = await until(() => taggedProcesses(root.tag).length === 0, 'every process to end', 1_000);
    expect(allGone(all)).toBe(true);
    console.info(`root SIGKILL: ${all.length} worker and app processes gone in ${took} ms`);
  });
});
