// balancing: "least-connections" with long-lived connections (real ws clients on the ws fixture, which
// greets each with its pid): the primary counts each worker's open connections, so WebSockets spread
// evenly, and a worker that restarts empty (its clients cut by a crash) gets the new ones until it has
// caught up, where round-robin hands it only its turn.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fixtureApp, startRoot } from '../helpers/root.js';

/** A WebSocket open on the app, and the pid of the worker that greeted it. */
function open(address: string): Promise<{ ws: WebSocket; pid: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${address}/`);
    ws.once('message', (data) => resolve({ ws, pid: (JSON.parse(String(data)) as { hello: number }).hello }));
    ws.once('error', reject);
  });
}

async function scenario(balancing: string) {
  const root = startRoot({
    apps: [fixtureApp('web', 'ws-app.mjs', { instances: 4, balancing, env: { PORT: 0 } })],
  });
  const sockets: WebSocket[] = [];
  try {
    await root.running('web');
    const address = await root.address('web');
    const count = (pids: number[]) => {
      const n = new Map<number, number>();
      for (const pid of pids) n.set(pid, (n.get(pid) ?? 0) + 1);
      return n;
    };
    // One after another, so that each connection is counted before the next is placed.
    const first: number[] = [];
    for (let i = 0; i < 12; i++) {
      const { ws, pid } = await open(address);
      sockets.push(ws);
      first.push(pid);
    }
    const spread = count(first);

    // A worker killed: its clients are cut, and its slot restarts with none.
    const victim = first[0] as number;
    const from = root.events.length;
    process.kill(victim, 'SIGKILL');
    const restarted = await root.waitFor(
      (e) => e.app === 'web' && e.to === 'ready' && e.pid !== victim,
      'the killed worker to restart',
      { from },
    );
    const after: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { ws, pid } = await open(address);
      sockets.push(ws);
      after.push(pid);
    }
    return { spread, after, restarted: restarted.pid as number, root };
  } finally {
    for (const ws of sockets) ws.terminate();
  }
}

describe('least-connections with WebSockets', () => {
  it('spreads them evenly, and gives a restarted worker the new ones until it has caught up', async () => {
    const { spread, after, restarted, root } = await scenario('least-connections');
    expect([...spread.values()]).toEqual([3, 3, 3, 3]);
    expect(after).toEqual([restarted, restarted, restarted]);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('round-robin, the contrast: the restarted worker gets only its turn', async () => {
    const { spread, after, restarted, root } = await scenario('round-robin');
    expect([...spread.values()]).toEqual([3, 3, 3, 3]);
    expect(after.filter((pid) => pid === restarted).length).toBeLessThan(3);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
