// Messages from workers are user input: a real worker's code sends clusterd messages that are malformed
// (wrong types, NaN, negatives, undeclared fields and tags). The app keeps serving, nothing crashes, the
// primary counts them (and only them: the app's own messages are not clusterd's) and says so once, and
// /metrics shows the count.
import { describe, expect, it } from 'vitest';
import { get, getJson } from '../helpers/http.js';
import { parseExposition } from '../helpers/prometheus.js';
import { fixtureApp, startRoot } from '../helpers/root.js';

const COUNTER = 'clusterd_worker_messages_malformed_total';

describe('malformed messages from a worker', () => {
  it('are ignored and counted, and the app keeps serving', async () => {
    const root = startRoot({
      health: { port: 0 },
      apps: [
        fixtureApp('web', 'sends-malformed.cjs', {
          instances: 2,
          balancing: 'least-connections',
          env: { PORT: 0 },
        }),
      ],
    });
    await root.running('web');
    const address = await root.address('web');
    const health = String(
      (await root.waitFor((e) => typeof e.health === 'string', 'the health address')).health,
    );
    const counted = async () => {
      const res = await get(health, '/metrics');
      expect(res.status).toBe(200);
      return parseExposition(res.body).find(COUNTER, { app: 'web' })[0]?.value;
    };
    expect(await counted()).toBe(0);

    let sent = 0;
    for (let i = 0; i < 4; i++) sent += (await getJson<{ sent: number }>(address, '/junk')).sent;
    expect(sent).toBe(40);

    // The messages cross the channel while the scrape is asked for: poll until they are all counted.
    const deadline = Date.now() + 10_000;
    let seen = await counted();
    while (seen !== sent && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = await counted();
    }
    expect(seen).toBe(sent);

    // Still serving, on new connections (each one a handoff the balancer decides), and no worker died.
    for (let i = 0; i < 20; i++) expect((await get(address)).status).toBe(200);
    expect(await counted()).toBe(sent);
    expect(root.events.filter((e) => e.app === 'web' && (e.to === 'crashed' || e.to === 'exited'))).toEqual(
      [],
    );
    // Said once for the app, not once per message.
    const warnings = root.events.filter((e) => /malformed clusterd message/.test(e.msg));
    expect(warnings).toHaveLength(1);

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
