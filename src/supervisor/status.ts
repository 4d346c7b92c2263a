// What `clusterd status` shows: every app and worker as the root sees them, with each worker's CPU and
// memory read at the time of asking (pidusage, loaded only then). A program's instance counts its whole
// process group (a shell wrapper holds little itself), as its memory guard does.
import type { ResolvedConfig } from '../config/resolved.js';
import type { AppStatus, Status } from '../control/protocol.js';
import { groupMembers } from '../primary/stop/descendants.js';
import { linuxProc } from '../primary/stop/descendants-proc.js';
import type { AppRunner } from './app-runner.js';

export async function statusOf(
  runners: readonly AppRunner[],
  config: Pick<ResolvedConfig, 'file' | 'environment'>,
  startedAt: number,
): Promise<Status> {
  const { default: pidusage } = await import('pidusage');
  let table: ReturnType<ReturnType<typeof linuxProc>['table']> | undefined;
  const group = (pid: number): number[] => {
    table ??= linuxProc().table();
    return [pid, ...groupMembers(table ?? [], pid).map((e) => e.pid)];
  };
  const usage = async (pid: number | null, program: boolean) => {
    if (pid === null) return null;
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
    runners.map(async (a) => ({
      name: a.app.name,
      state: a.state,
      instances: a.app.instances,
      primary: a.primaryPid,
      replaced: { ...a.workers.replaced },
      workers: await Promise.all(
        a.workers.list().map(async (w) => {
          const u = await usage(w.pid, a.app.program !== null);
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
