// The messaging API's limits with a real clusterd (primary/messages/limits.ts): a worker that broadcasts
// 5,000 messages at once gets its burst of 2,000 through and the rest dropped for the rate; a message over
// 4 MiB is dropped for its size; each is counted in clusterd_worker_messages_dropped_total{app,reason} and
// warned about once per worker and reason.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/files.js';
import { get } from '../helpers/http.js';
import { readLines } from '../helpers/messages-log.js';
import { until } from '../helpers/processes.js';
import { parseExposition } from '../helpers/prometheus.js';
import { fixtureApp, startRoot } from '../helpers/root.js';

describe('messaging limits', () => {
  it('drops past the rate and the size, counts it by reason, and warns once', async () => {
    const log = join(tempDir(), 'messages.jsonl');
    const root = startRoot(
      { apps: [fixtureApp('m', 'messages-app.mjs', { instances: 2, env: { MSG_LOG: log } })] },
      { args: ['--health', '127.0.0.1:0'] },
    );
    const health = String(
      (await root.waitFor((e) => typeof e.health === 'string', 'the health address')).health,
    );
    await root.running('m');
    const send = (cmd: object) =>
      runCli(['send', 'm', 'cmd', JSON.stringify(cmd), '--worker', '0'], { cwd: root.dir, env: root.env });
    expect((await send({ do: 'flood', n: 5_000, id: 1 })).code).toBe(0);
    expect((await send({ do: 'flood', n: 5_000, id: 2 })).code).toBe(0);
    expect((await send({ do: 'big', bytes: 5 * 1024 * 1024, id: 3 })).code).toBe(0);
    // Worker 1 got the burst (2,000) and what the bucket refilled meanwhile, not 10,000.
    await until(
      () => readLines(log).some((l) => l.ev === 'flooded' && l.slot === 1 && (l.count as number) >= 2_000),
      'the burst',
    );
    // The size warning comes after every flood message on the primary's channel from worker 0.
    await root.waitFor((e) => e.app === 'm' && e.level === 40 && e.reason === 'size', 'the size warning');
    const metrics = parseExposition((await get(health, '/metrics')).body);
    const rate = metrics.value('clusterd_worker_messages_dropped_total', { app: 'm', reason: 'rate' });
    expect(rate).toBeGreaterThan(5_000);
    expect(rate).toBeLessThan(8_000);
    expect(metrics.value('clusterd_worker_messages_dropped_total', { app: 'm', reason: 'size' })).toBe(1);
    const got = Math.max(
      ...readLines(log)
        .filter((l) => l.ev === 'flooded' && l.slot === 1)
        .map((l) => l.count as number),
    );
    expect(got).toBeLessThan(10_000 - rate + 1);
    const warnings = root.events.filter((e) => e.app === 'm' && e.level === 40 && /dropped/.test(e.msg));
    expect(warnings.map((e) => e.reason).sort()).toEqual(['rate', 'size']);
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
