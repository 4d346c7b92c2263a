// What a dead primary leaves behind, cleared by the root: its workers (they notice its IPC channel close
// and exit; one that is stuck does not) and what the app started that the primary could not stop (it
// died first), still in the primary's process group.
import type { Logger } from '../log/logger.js';
import type { RunnerEffects } from './primary-process.js';
import type { WorkersView } from './workers-view.js';

export function killLeftovers(
  fx: Pick<RunnerEffects, 'killLeftover' | 'killGroup'>,
  log: Logger,
  app: string,
  workers: WorkersView,
  group: number | null,
): void {
  for (const info of workers.list()) {
    if (info.pid === null || !fx.killLeftover(info.pid, app)) continue;
    log.warn({ app, worker: info.slot, pid: info.pid }, 'killed a worker left by its primary');
  }
  workers.clear();
  const left = group === null ? [] : fx.killGroup(group);
  if (left.length > 0) log.warn({ app, pids: left }, "killed processes left in the primary's group");
}
