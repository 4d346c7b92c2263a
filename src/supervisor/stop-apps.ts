// A graceful stop of every app, as the supervisor's machine asks for it: an app with `shutdown.delay`
// keeps serving (unready: the supervisor says it is stopping from now) for that long before it drains,
// so that load balancers stop sending to it first; the others are told to stop at once.
import type { Logger } from '../log/logger.js';
import type { AppRunner } from './app-runner.js';
import type { RunnerEffects } from './primary-process.js';

/** Stops every runner, now or after its delay; returns the cancels of the delays under way. */
export function stopEveryApp(
  runners: Iterable<AppRunner>,
  stoppedByCommand: (runner: AppRunner) => boolean,
  fx: Pick<RunnerEffects, 'timer'>,
  log: Logger,
): (() => void)[] {
  const delayed: string[] = [];
  const cancels: (() => void)[] = [];
  for (const runner of runners) {
    const delay = runner.app.shutdown.delay;
    if (delay > 0 && runner.primary.is('running', 'spawning') && !stoppedByCommand(runner)) {
      delayed.push(`${runner.app.name} ${delay} ms`);
      cancels.push(fx.timer(delay, () => runner.contain('a delayed stop', () => void runner.stop())));
    } else void runner.stop();
  }
  if (delayed.length)
    log.info({ delayed }, `unready; serving on before the drain (shutdown.delay): ${delayed.join(', ')}`);
  return cancels;
}
