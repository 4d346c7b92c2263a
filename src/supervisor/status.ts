// What `clusterd status` shows: every app and worker as the root sees them, with each worker's CPU and
// memory read at the time of asking (from /proc, usage.ts; pidusage, loaded only then, where there is none). A program's instance counts its whole
// process group (a shell wrapper holds little itself), as its memory guard does. The request figures
// (req/s, 5xx share, p99 over the last 10 s) are the primary's (its request history), asked with a
// bound: a primary that does not answer in time leaves them unknown, not the status waiting.
import type { ResolvedConfig } from '../config/resolved.js';
import type { AppStatus, Status } from '../control/protocol.js';
import { groupMembers } from '../primary/stop/descendants.js';
import { linuxProc } from '../primary/stop/descendants-proc.js';
import type { OpResults } from '../protocol.js';
import type { AppRunner } from './app-runner.js';
import { ProcUsage, type Usage } from './usage.js';

/** Every status of this root samples through one reader: CPU is measured since its previous sample. */
const procUsage = new ProcUsage();

/** How long a primary gets to give its request figures before `status` goes on without them. */
export const FIGURES_ANSWER_MS = 1_000;

/**
 * How old the pushed figures may be: the primary samples every 2 s (SAMPLE_EVERY_MS) and sends them
 * after each sample; a primary that stopped sending (busy, or its scrape slow) is asked.
 */
const FIGURES_FRESH_MS = 5_000;

/** The app's request figures from its primary, or null: none to ask for, or no answer in time. */
async function figuresOf(runner: AppRunner, windowMs?: number): Promise<OpResults['requests'] | null> {
  const { app } = runner;
  if (app.program !== null || !app.requestMetrics || !runner.primary.is('running')) return null;
  // The figures the primary sent after its last sample, when they are that recent: the same answer as
  // asking, without a round trip to every primary (20 apps: 20 of them).
  const pushed = runner.figures;
  if (windowMs === undefined && pushed && Date.now() - pushed.at <= FIGURES_FRESH_MS) return pushed.value;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), FIGURES_ANSWER_MS);
  });
  const asked = runner
    .request({ op: 'requests', ...(windowMs === undefined ? {} : { windowMs }) })
    .then((outcome) => (outcome.ok ? outcome.result : null));
  return Promise.race([asked, late]).finally(() => clearTimeout(timer));
}

export async function statusOf(
  runners: readonly AppRunner[],
  config: Pick<ResolvedConfig, 'file' | 'environment'>,
  startedAt: number,
  /** The request figures' window (ms): 10 s unless told (`monitor` asks for less). */
  windowMs?: number,
): Promise<Status> {
  // Without /proc (macOS, for development): pidusage, as before.
  const fallback = procUsage.available() ? null : (await import('pidusage')).default;
  let table: ReturnType<ReturnType<typeof linuxProc>['table']> | undefined;
  const group = (pid: number): number[] => {
    table ??= linuxProc().table();
    return [pid, ...groupMembers(table ?? [], pid).map((e) => e.pid)];
  };
  const usage = async (pid: number | null, program: boolean): Promise<Usage | null> => {
    if (pid === null) return null;
    if (!fallback) {
      const pids = program ? group(pid) : [pid];
      const sampled = procUsage.sample(pids);
      if (!sampled?.has(pid)) return null;
      let cpu = 0;
      let memory = 0;
      for (const u of sampled.values()) {
        cpu += u.cpu;
        memory += u.memory;
      }
      return { cpu, memory };
    }
    const pidusage = fallback;
    try {
      if (!program) return await pidusage(pid);
      const all = Object.values(await pidusage(group(pid)).catch(() => pidusage([pid])));
      return {
        cpu: all.reduce((sum, u) => sum + u.cpu, 0),
        memory: all.reduce((sum, u) => sum + u.memory, 0),
      };
    } catch {
      return null;
    }
  };
  const apps: AppStatus[] = await Promise.all(
    runners.map(async (a) => {
      // The figures are asked while the CPU and memory are read, not before.
      const [figures, usages] = await Promise.all([
        figuresOf(a, windowMs),
        Promise.all(
          a.workers.list().map(async (w) => ({ w, u: await usage(w.pid, a.app.program !== null) })),
        ),
      ]);
      return {
        name: a.app.name,
        state: a.state,
        instances: a.app.instances,
        primary: a.primaryPid,
        replaced: { ...a.workers.replaced },
        requests: figures?.app ?? null,
        workers: usages.map(({ w, u }) => {
          const own = figures?.workers.find((f) => f.pid === w.pid);
          return {
            id: w.slot,
            pid: w.pid,
            state: w.state,
            restarts: w.restarts,
            script: w.script,
            connections: w.open,
            uptime: Date.now() - w.since,
            cpu: u ? Math.round(u.cpu * 10) / 10 : null,
            memory: u ? u.memory : null,
            requests: own
              ? {
                  rate: own.rate,
                  serverErrors: own.serverErrors,
                  p99: own.p99,
                  p50: own.p50 ?? null,
                  loopDelay: own.loopDelay ?? null,
                }
              : null,
          };
        }),
      };
    }),
  );
  return {
    pid: process.pid,
    config: config.file,
    environment: config.environment,
    uptime: Date.now() - startedAt,
    apps,
  };
}
