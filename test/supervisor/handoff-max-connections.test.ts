// A worker that refuses a connection (its server at maxConnections, or closed) sends it back, and the
// primary gives it to another worker, as node:cluster's round-robin does; one that every worker refuses
// is closed, not bounced for ever. Before, sticky reset every connection of a full worker's keys.
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { fixtureApp, startRoot } from '../helpers/root.js';

/** A GET from `localAddress` (through `agent`, or on a fresh connection): the slot, or the error. */
function get(port: number, localAddress: string, agent: Agent | false = false): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, localAddress, agent, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve((JSON.parse(body) as { worker: number }).worker));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

describe('a connection a full worker refuses', () => {
  // With stickyHeader, the connection the worker sends back is a socket, with the head the primary read.
  it.each([
    ['sticky', {}],
    ['sticky with stickyHeader', { stickyHeader: 'X-Forwarded-For' }],
    ['least-connections', {}],
  ])('%s: goes to a worker with room, and is closed when none has', async (what, extra) => {
    const balancing = what.split(' ')[0];
    const root = startRoot({
      apps: [
        fixtureApp('web', 'max-connections.cjs', { instances: 2, balancing, ...extra, env: { PORT: 0 } }),
      ],
    });
    await root.running('web');
    const address = await root.address('web');
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    const agents: Agent[] = [];
    try {
      // One idle keep-alive connection held on a worker fills it.
      const hold = async (ip: string) => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: ip });
        agents.push(agent);
        return get(port, ip, agent);
      };
      const full = await hold('127.0.0.2');
      expect(typeof full).toBe('number');
      // The same client again (sticky: the same key), on new connections: the other worker answers.
      for (let i = 0; i < 4; i++) expect(await get(port, '127.0.0.2')).toBe(1 - (full as number));

      // Both full: a new connection is refused by both, and closed.
      for (let n = 3; n < 40 && (await hold(`127.0.0.${n}`)) === full; n++);
      expect(await get(port, '127.0.0.2')).toBe('ECONNRESET');
    } finally {
      for (const agent of agents) agent.destroy();
    }
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
