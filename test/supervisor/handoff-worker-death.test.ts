// A connection handed to a worker (least-connections, sticky) that dies before taking it goes to another
// worker: the primary keeps its copy until the worker acknowledges the handoff. Before, the primary
// closed its copy as soon as the handle was sent, and the client's connection died with the worker.
// A worker that dies with a handle sent to it and not acknowledged never gets Node's 'disconnect' event
// in the primary (Node postpones it until its queue of handles is acknowledged): its connections must
// be given away all the same.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/files.js';
import { fixtureApp, startRoot } from '../helpers/root.js';

/** One GET on a fresh connection, with an X-Forwarded-For header: the status and body, or the error. */
function get(
  address: string,
  forwardedFor = '10.1.2.3',
): Promise<{ status: number; body: string } | { error: string }> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        agent: false,
        timeout: 10_000,
        headers: { 'x-forwarded-for': forwardedFor },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

describe('a connection whose worker dies before taking it', () => {
  // With stickyHeader the primary hands over a socket it read the head of, not a raw handle.
  it.each<[string, { stickyHeader?: string; env?: Record<string, string> }]>([
    ['least-connections', {}],
    ['sticky', {}],
    ['sticky with stickyHeader', { stickyHeader: 'X-Forwarded-For' }],
  ])('%s: is answered by another worker', async (what, extra) => {
    const dieOnce = join(tempDir(), 'died');
    const root = startRoot({
      apps: [
        fixtureApp('web', 'dies-on-handoff.cjs', {
          instances: 2,
          balancing: what.split(' ')[0],
          ...extra,
          env: { PORT: 0, DIE_ONCE_FILE: dieOnce, ...extra.env },
        }),
      ],
    });
    await root.running('web');
    const address = await root.address('web');
    const from = root.events.length;

    const answer = await get(address);
    // The worker the connection went to died on it: the test means nothing otherwise.
    const dead = Number(readFileSync(dieOnce, 'utf8'));
    await root.waitFor((e) => e.app === 'web' && e.pid === dead && e.to === 'crashed', 'the worker to die', {
      from,
    });
    expect(answer).toMatchObject({ status: 200 });
    const { pid } = JSON.parse((answer as { body: string }).body) as { pid: number };
    expect(pid).not.toBe(dead);

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });

  it('sticky: two connections of a worker that blocks, then dies without reading the second', async () => {
    const dieOnce = join(tempDir(), 'died');
    const root = startRoot({
      apps: [
        fixtureApp('web', 'dies-on-handoff.cjs', {
          instances: 2,
          balancing: 'sticky',
          env: { PORT: 0, DIE_ONCE_FILE: dieOnce, DIE_BLOCK_MS: 300 },
        }),
      ],
    });
    await root.running('web');
    const address = await root.address('web');
    // One client address: both connections go to the same worker, the second while it blocks.
    const answers = await Promise.all([get(address), get(address)]);
    const dead = Number(readFileSync(dieOnce, 'utf8'));
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 200 });
      expect((JSON.parse((answer as { body: string }).body) as { pid: number }).pid).not.toBe(dead);
    }
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
