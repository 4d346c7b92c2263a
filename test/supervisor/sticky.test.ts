// balancing: "sticky" with real clients from distinct source addresses (Linux routes all of 127/8 on
// lo, so a client binds 127.0.0.N and the primary sees that as its IP): each IP always reaches the same
// slot, the IPs spread over the slots, a reload gives every slot's keys to its successor, and scaling
// moves only the keys of the slot added (and gives them back when it goes).
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { fixtureApp, type Root, startRoot } from '../helpers/root.js';

const IPS = Array.from({ length: 39 }, (_, i) => `127.0.0.${i + 2}`);
const REQUESTS_PER_IP = 3;

interface Answer {
  worker: number;
  pid: number;
  peer?: string;
}

/** One GET on a fresh connection from `localAddress` (to `host`, 127.0.0.1 unless told). */
function getFrom(address: string, localAddress: string, host = '127.0.0.1'): Promise<Answer> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', localAddress, agent: false, timeout: 5_000 });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => {
        if (res.statusCode === 200) resolve(JSON.parse(body) as Answer);
        else reject(new Error(`GET / from ${localAddress}: ${res.statusCode} ${body}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET / from ${localAddress} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The slot each IP reaches, asking REQUESTS_PER_IP times per IP (each on a new connection); fails if one
 * IP reaches two slots. Also returns the pids that answered.
 */
async function slotsByIp(address: string): Promise<{ slots: Map<string, number>; pids: Set<number> }> {
  const slots = new Map<string, number>();
  const pids = new Set<number>();
  await Promise.all(
    IPS.map(async (ip) => {
      const seen: number[] = [];
      for (let i = 0; i < REQUESTS_PER_IP; i++) {
        const answer = await getFrom(address, ip);
        seen.push(answer.worker);
        pids.add(answer.pid);
      }
      expect(new Set(seen), `slots reached from ${ip}`).toEqual(new Set([seen[0]]));
      slots.set(ip, seen[0] as number);
    }),
  );
  return { slots, pids };
}

async function cli(root: Root, args: string[]): Promise<void> {
  const result = await runCli(args, { cwd: root.dir, env: root.env, timeoutMs: 30_000 });
  expect(result.code, `clusterd ${args.join(' ')}: ${result.stderr}`).toBe(0);
}

describe('sticky balancing', () => {
  it('keeps each client IP on its slot, through a reload, a crash and a scale up and down', async () => {
    const root = startRoot({
      apps: [fixtureApp('web', 'http-server.cjs', { instances: 4, balancing: 'sticky', env: { PORT: 0 } })],
    });
    await root.running('web');
    const address = await root.address('web');

    const first = await slotsByIp(address);
    // 39 keys over 4 slots: rendezvous hashing gives each slot some (the hash is fixed, so this is too).
    expect(new Set(first.slots.values())).toEqual(new Set([0, 1, 2, 3]));

    // A reload replaces every worker; each successor takes its slot's keys.
    await cli(root, ['reload', 'web']);
    const reloaded = await slotsByIp(address);
    expect(reloaded.slots).toEqual(first.slots);
    expect([...reloaded.pids].filter((pid) => first.pids.has(pid))).toEqual([]);

    // A worker killed: the one that restarts in its slot takes its keys back.
    const victim = [...reloaded.pids][0] as number;
    const from = root.events.length;
    process.kill(victim, 'SIGKILL');
    await root.waitFor(
      (e) => e.app === 'web' && e.to === 'ready' && e.pid !== victim,
      "a worker to restart in the killed one's slot",
      { from },
    );
    expect((await slotsByIp(address)).slots).toEqual(first.slots);

    // A fifth slot takes a share of the keys from each of the others, and moves no other key.
    await cli(root, ['scale', 'web', '5']);
    const scaled = await slotsByIp(address);
    const moved = IPS.filter((ip) => scaled.slots.get(ip) !== first.slots.get(ip));
    expect(moved.length).toBeGreaterThan(0);
    for (const ip of moved) expect(scaled.slots.get(ip), `${ip} moved`).toBe(4);

    // Back to 4: the fifth slot's keys go back where they were.
    await cli(root, ['scale', 'web', '4']);
    expect((await slotsByIp(address)).slots).toEqual(first.slots);

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  }, 60_000);

  it('round-robin, the contrast: one IP reaches several slots', async () => {
    const root = startRoot({
      apps: [fixtureApp('web', 'http-server.cjs', { instances: 4, env: { PORT: 0 } })],
    });
    await root.running('web');
    const address = await root.address('web');
    const seen = new Set<number>();
    for (let i = 0; i < 8; i++) seen.add((await getFrom(address, '127.0.0.2')).worker);
    expect(seen.size).toBeGreaterThan(1);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('an app listening on every address (no host): IPv4 and IPv6 clients, each kept on its slot', async () => {
    const root = startRoot({
      apps: [fixtureApp('web', 'report-peer.cjs', { instances: 4, balancing: 'sticky', env: { PORT: 0 } })],
    });
    await root.running('web');
    const address = await root.address('web');
    const clients = [...IPS.slice(0, 12).map((ip) => [ip, '127.0.0.1']), ['::1', '::1']] as const;
    const slots = new Set<number>();
    for (const [ip, host] of clients) {
      const answers = [];
      for (let i = 0; i < REQUESTS_PER_IP; i++) answers.push(await getFrom(address, ip, host));
      // The app sees the client's own address (the primary hands over the connection, not a copy).
      for (const a of answers) expect(a.peer).toBe(ip === '::1' ? '::1' : `::ffff:${ip}`);
      expect(new Set(answers.map((a) => a.worker)).size, ip).toBe(1);
      slots.add(answers[0]?.worker as number);
    }
    expect(slots.size).toBeGreaterThan(1);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
