// Readiness "port" probes a new instance by connecting to the shared listen socket, and an old instance
// may accept a probe meant for the new one. A single-threaded server (Python's http.server, a gunicorn
// sync worker) that took one serves nobody else until the probe is closed, so the probes must not be
// held while the new instance accepts nothing yet. Found by bench/programs-reload.ts: the primary read
// the instance's standard streams (socket pairs) as a sign that it had accepted something, and held
// each round's probes for 300 ms while the old instance waited on one of them: requests stalled.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/http.js';
import { taggedProcesses } from '../helpers/processes.js';
import { FIXTURES, startRoot } from '../helpers/root.js';
import { startTraffic } from '../helpers/traffic.js';

const SERVER = join(FIXTURES, 'programs', 'activated.py');
/** How long the new instance takes before it accepts: the old one serves alone meanwhile. */
const SLOW_START_S = 1.5;
const SLOW_MS = 100;

describe('programs: readiness probes on a shared port', () => {
  it('do not stall a single-threaded old instance while the new one starts', async () => {
    const port = await freePort();
    const config = (slowStart: number) => ({
      apps: [
        {
          name: 'py',
          command: ['python3', '-u', SERVER],
          listen: { port, host: '127.0.0.1' },
          env: { SLOW_START: String(slowStart) },
        },
      ],
    });
    const root = startRoot(config(0));
    await root.running('py');
    const traffic = startTraffic(`127.0.0.1:${port}`, { concurrency: 1 });
    await traffic.answered(20);
    // A config reload rolls the app onto an instance that takes SLOW_START_S to accept.
    writeFileSync(join(root.dir, 'cluster.config.json'), JSON.stringify(config(SLOW_START_S)));
    const from = root.events.length;
    root.signal('SIGHUP');
    const started = await root.waitFor((e) => e.app === 'py' && e.to === 'starting', 'the new instance', {
      from,
    });
    const done = await root.waitFor((e) => e.app === 'py' && e.reload === 'done', 'the reload', {
      from,
      timeoutMs: 20_000,
    });
    const outcomes = await traffic.stop();

    expect(outcomes.filter((o) => o.error).map((o) => `${o.error} at ${o.start - started.time} ms`)).toEqual(
      [],
    );
    const window = outcomes.filter((o) => o.start >= started.time && o.end <= done.time);
    const span = done.time - started.time;
    expect(span).toBeGreaterThan(SLOW_START_S * 1000);
    // The old instance served throughout: requests waiting on a probe it took show as slow ones. Held
    // 300 ms a round, they took most of the window; closed within a few ms, next to none of it.
    const stalled = window
      .filter((o) => o.end - o.start > SLOW_MS)
      .reduce((sum, o) => sum + o.end - o.start, 0);
    expect(window.length).toBeGreaterThan(20);
    expect(stalled / span, `${stalled} ms of ${span} ms stalled`).toBeLessThan(0.3);

    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    expect(taggedProcesses(root.tag), 'processes left after the stop').toEqual([]);
  }, 40_000);
});
