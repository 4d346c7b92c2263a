// What `clusterd status` shows: every app and worker as the root sees them, with each worker's CPU and
// memory read at the time of asking (pidusage, loaded only then).
import type { ResolvedConfig } from '../config/resolved.js';
import type { AppStatus, Status } from '../control/protocol.js';
import type { AppRunner } from './app-runner.js';

export async function statusOf(
  runners: readonly AppRunner[],
  config: Pick<ResolvedConfig, 'file' | 'environment'>,
  startedAt: number,
): Promise<Status> {
  const { default: pidusage } = await import('pidusage');
  const usage = async (pid: number | null) => {
    if (pid === null) return null;
    try {
      return await pidusage(pid);
    } catch {
      return null;
    }
  };
  const apps: AppStatus[] = await Promise.all(
    runners.map(async (a) => ({
      name: a.app.name,
      state: a.state,
      instances: a.app.instances,
      primary: a.primaryPid,
      replaced: { ...a.workers.replaced },
      workers: await Promise.all(
        a.workers.list().map(async (w) => {
          const u = await usage(w.pid);
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
          };
        }),
      ),
    })),
  );
  return {
    pid: process.pid,
    config: config.file,
    environment: config.environment,
    uptime: Date.now() - startedAt,
    apps,
  };
}
