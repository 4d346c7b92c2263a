// An app that closes its server and listens again on the same port, in one worker while the others
// serve on: node:cluster's round-robin lets it join the port's listen again, and so must the handoff
// balancings, where the primary keeps one listen per address and listen index.
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { freePort, getJson } from '../helpers/http.js';
import { fixtureApp, startRoot } from '../helpers/root.js';

/** The slot that answers a GET on a new connection from `localAddress` (sticky keys on it). */
function slotFrom(port: number, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve((JSON.parse(body) as { worker: number }).worker));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a worker that listens again', () => {
  it.each(['round-robin', 'least-connections', 'sticky'])(
    '%s: a worker closes its server and listens on the same port again, and serves',
    async (balancing) => {
      const port = await freePort();
      const root = startRoot({
        apps: [fixtureApp('web', 'relisten.cjs', { instances: 2, balancing, env: { PORT: port } })],
      });
      await root.running('web');
      const address = await root.address('web');
      const from = root.events.length;
      const { worker } = await getJson<{ worker: number }>(address, '/relisten');
      const said = await root.waitFor(
        (e) => /^(listening again|listen failed) on worker/.test(e.msg),
        'the worker to listen again',
        { from },
      );
      expect(said.msg).toBe(`listening again on worker ${worker}`);
      // Both workers serve on the port, the one that listened again too: requests four at a time (so
      // least-connections has one busy), each from its own source address (so sticky has several keys).
      const seen = new Set<number>();
      for (let i = 0; i < 10 && seen.size < 2; i++) {
        const batch = [2, 3, 4, 5].map((n) => slotFrom(port, `127.0.0.${4 * i + n}`));
        for (const slot of await Promise.all(batch)) seen.add(slot);
      }
      expect(seen).toEqual(new Set([0, 1]));
      root.signal('SIGTERM');
      expect((await root.waitForExit()).code).toBe(0);
    },
  );
});
