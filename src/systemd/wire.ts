// Ties the notifier to a running supervisor: its lifecycle events in, systemd-notify out, its apps'
// primaries pinged for the watchdog. Only when systemd gave us a NOTIFY_SOCKET.
import type { Logger } from '../log/logger.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { type NotifyEnv, type NotifyTransport, SystemdNotifier } from './notify.js';
import { SystemdNotifyTransport } from './systemd-notify.js';

/** How long the last messages (STOPPING=1) may take to leave when clusterd ends. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface SystemdLink {
  /** Stops the watchdog and waits (boundedly) for what is queued to be sent. */
  close(): Promise<void>;
}

export function notifySystemd(
  env: NotifyEnv | null,
  supervisor: Supervisor,
  log: Logger,
  transport?: NotifyTransport & { drained?(): Promise<void> },
): SystemdLink | null {
  if (!env) return null;
  const sender =
    transport ??
    new SystemdNotifyTransport({
      socket: env.socket,
      failed: (message) => log.warn({ notifySocket: env.socket }, `systemd notify: ${message}`),
    });
  const notifier = new SystemdNotifier(
    {
      transport: sender,
      // libuv's hrtime is CLOCK_MONOTONIC on Linux, the clock MONOTONIC_USEC is read on.
      monotonicUsec: () => process.hrtime.bigint() / 1000n,
      every: (ms, fn) => {
        const timer = setInterval(fn, ms);
        timer.unref();
        return () => clearInterval(timer);
      },
      // Only a running primary can hang, as for /livez: one spawning, restarting or stopped is the root's.
      apps: () =>
        supervisor.apps.map((runner) => ({
          name: runner.app.name,
          ping: () => (runner.primary.is('running') ? runner.ping() : Promise.resolve()),
        })),
      hung: (apps) =>
        log.error(
          { apps },
          `systemd watchdog: the primary of ${apps.join(', ')} did not answer within ${notifier.watchdogIntervalMs} ms; WATCHDOG=1 is held back`,
        ),
      recovered: () => log.info('systemd watchdog: every primary answers again'),
    },
    { watchdogUsec: env.watchdogUsec },
  );
  const events = supervisor.lifecycle;
  events.on('ready', ({ failed }) =>
    notifier.ready({
      apps: supervisor.apps.map((r) => r.app.name),
      failed: failed.map((f) => ({ app: f.app, reason: f.ok ? '' : f.reason })),
    }),
  );
  events.on('reloading', (kind) => notifier.reloading(kind));
  events.on('reloaded', () => notifier.reloaded());
  events.on('stopping', () => notifier.stopping());
  notifier.start();
  log.debug(
    { notifySocket: env.socket, watchdogMs: notifier.watchdogIntervalMs },
    'systemd notify: talking to the service manager',
  );
  return {
    close: async () => {
      notifier.close();
      await Promise.race([
        sender.drained?.(),
        new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref()),
      ]);
    },
  };
}
