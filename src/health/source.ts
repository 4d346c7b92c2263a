// What the health server reads, from the running supervisor: its apps as they are now, a ping of each
// running primary (liveness), and a sample of every worker (metrics).
import type { AppRunner } from '../supervisor/app-runner.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { AppScrape } from './metrics.js';
import { liveness, type PrimaryAnswer, readiness } from './readiness.js';
import type { HealthSource } from './server.js';

/** How long a primary gets to answer a ping, or a scrape, before it counts as unresponsive. */
export const PRIMARY_ANSWER_MS = 2_000;

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function ping(runner: AppRunner): Promise<PrimaryAnswer> {
  // Only a primary that runs can hang; one restarting or stopped is the root's to handle.
  if (!runner.primary.is('running')) return 'not running';
  const answer = await within(runner.ping(), PRIMARY_ANSWER_MS);
  if (answer === 'late') return 'unresponsive';
  return answer.ok ? 'answered' : 'not running';
}

async function scrapeApp(runner: AppRunner): Promise<AppScrape> {
  const answer = runner.primary.is('running')
    ? await within(runner.request({ op: 'metrics' }), PRIMARY_ANSWER_MS)
    : 'late';
  const samples = answer !== 'late' && answer.ok ? answer.result : null;
  return {
    name: runner.app.name,
    state: runner.state,
    instances: runner.app.instances,
    workers: runner.workers.list(),
    // With `requestMetrics: false` the workers answer zeros: no traffic is not what that means.
    samples: samples && !runner.app.requestMetrics ? { ...samples, requests: [] } : samples,
  };
}

export function healthSource(supervisor: Supervisor, share: number): HealthSource {
  return {
    readiness: () =>
      readiness(
        supervisor.apps.map((r) => ({
          name: r.app.name,
          state: r.state,
          instances: r.app.instances,
          workers: r.workers.list(),
          stoppedByCommand: supervisor.isStoppedByCommand(r),
        })),
        share,
        supervisor.stopping,
      ),
    liveness: async () =>
      liveness(
        await Promise.all(supervisor.apps.map(async (r) => ({ name: r.app.name, primary: await ping(r) }))),
      ),
    scrape: () => Promise.all(supervisor.apps.map(scrapeApp)),
  };
}
