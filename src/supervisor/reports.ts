// What a primary reports (transitions, reload phases, watch events), as the root's log events: fields
// to assert on and query, and a message to read.
import { reportLogFile } from '../log/faults.js';
import type { Logger } from '../log/logger.js';
import type { PrimaryMessage } from '../protocol.js';

/** Who else hears what the primaries report (the health server's metrics). */
export interface RunnerObserver {
  report(app: string, message: PrimaryMessage): void;
  primaryRestarted(app: string): void;
  /** The root killed the app's primary for not answering its pings (`primary.hangTimeout`). */
  primaryHung(app: string): void;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

function logCanary(log: Logger, app: string, message: Extract<PrimaryMessage, { type: 'canary' }>): void {
  if (message.phase === 'started') {
    const { workers, warmup, observe, weight } = message;
    const share = weight === null ? '' : `, ${Math.round(weight * 1000) / 10}% of new connections`;
    log.info(
      { app, canary: 'started', workers, warmup, observe, weight },
      `canary: worker${workers.length === 1 ? '' : 's'} ${workers.join(', ')} serve${workers.length === 1 ? 's' : ''} beside the old workers${share}; judged over ${seconds(observe)} after a ${seconds(warmup)} warmup`,
    );
  } else if (message.phase === 'observing') {
    log.info(
      { app, canary: 'observing', observe: message.observe },
      `canary: observing for ${seconds(message.observe)}`,
    );
  } else {
    const { outcome, proceed, reason, checks, canaries, baselineWorkers, observed } = message.report;
    const level = outcome === 'pass' ? 'info' : outcome === 'fail' ? 'error' : 'warn';
    const then = proceed ? 'the reload goes on' : 'its canaries drain, the old workers keep serving';
    log[level](
      { app, canary: 'judged', outcome, proceed, reason, checks, canaries, baselineWorkers, observed },
      `canary ${outcome === 'pass' ? 'passed' : outcome === 'fail' ? 'failed' : 'inconclusive'}: ${reason}; ${then}`,
    );
  }
}

export function logReport(log: Logger, app: string, message: PrimaryMessage): void {
  switch (message.type) {
    case 'worker': {
      const t = message.transition;
      const level = t.to === 'crashed' ? 'warn' : 'info';
      const what =
        t.to === 'ready' && t.address
          ? `ready on ${t.address}`
          : t.to === 'starting' && t.script
            ? `starting: ${t.script}`
            : t.to;
      log[level]({ app, ...t, pid: t.pid }, `worker ${what}${t.reason ? `: ${t.reason}` : ''}`);
      return;
    }
    case 'slot':
      log.debug(
        { app, slot: message.slot, slotFrom: message.from, slotTo: message.to, reason: message.reason },
        `slot ${message.to}`,
      );
      return;
    case 'backoff':
      log.info(
        { app, worker: message.worker, delay: message.delay, failedStarts: message.failedStarts },
        `worker restarts in ${message.delay} ms${message.failedStarts ? ` (${message.failedStarts} failed start${message.failedStarts === 1 ? '' : 's'} in a row)` : ''}`,
      );
      return;
    case 'app': {
      const level = message.to === 'errored' ? 'error' : 'info';
      const fields = {
        app,
        from: message.from,
        to: message.to,
        reason: message.reason,
        lastExits: message.lastExits,
      };
      log[level](fields, `app ${message.to}${message.reason ? `: ${message.reason}` : ''}`);
      return;
    }
    case 'reload':
      if (message.phase === 'started') log.info({ app, reload: 'started' }, 'reload started');
      else if (message.phase === 'done')
        log.info(
          { app, reload: 'done', replaced: message.replaced, ms: message.ms },
          `reloaded: ${message.replaced} workers replaced in ${message.ms} ms`,
        );
      else log.error({ app, reload: 'failed', reason: message.reason }, `reload failed: ${message.reason}`);
      return;
    case 'canary':
      logCanary(log, app, message);
      return;
    case 'guard': {
      const { worker, pid, cause, action } = message;
      log[action === 'hold' ? 'info' : 'warn'](
        { app, worker, pid, guard: cause, action, ...message.fields },
        `worker ${worker}: ${message.message}`,
      );
      return;
    }
    case 'recycled': {
      const { worker, pid, cause, ms } = message;
      if (message.ok)
        log.info({ app, worker, pid, guard: cause, ms }, `worker ${worker} replaced (${cause}) in ${ms} ms`);
      else
        log.error(
          { app, worker, pid, guard: cause, ms, reason: message.reason },
          `worker ${worker} could not be replaced (${cause}), it goes on: ${message.reason}`,
        );
      return;
    }
    case 'leader': {
      const { worker, pid, term, change, ms } = message;
      const what = {
        granted: `leader: worker ${worker} (pid ${pid}) leads, term ${term}`,
        revoked: `leader: worker ${worker} (pid ${pid}) drains: revoked, its stop handlers run`,
        stopped: `leader: worker ${worker} (pid ${pid}) stopped leading in ${ms ?? 0} ms`,
        killed: `leader: worker ${worker} (pid ${pid}) did not stop leading within shutdown.timeout: killed (SIGKILL)`,
        lost: `leader: worker ${worker} (pid ${pid}) exited while it led`,
      }[change];
      log[change === 'killed' ? 'warn' : 'info'](
        { app, worker, pid, leader: change, term, ...(ms === undefined ? {} : { ms }) },
        what,
      );
      return;
    }
    case 'publish': {
      // A worker's publish (clusterd/worker): an event of its own, for `clusterd events` and the client.
      const { worker, pid, topic, data } = message;
      log.info({ app, worker, pid, publish: topic, data }, `publish ${topic}`);
      return;
    }
    case 'watch': {
      const more =
        message.count > message.files.length ? ` and ${message.count - message.files.length} more` : '';
      log.info(
        { app, files: message.files, count: message.count },
        `${message.files.join(', ')}${more} changed: rolling reload`,
      );
      return;
    }
    case 'watching':
      log.info({ app, watching: message.paths }, `watching ${message.paths.join(', ')} for changes`);
      return;
    case 'scaled':
      if (message.from !== message.to)
        log.info(
          { app, from: message.from, to: message.to },
          `scaled from ${message.from} to ${message.to} workers`,
        );
      return;
    case 'error':
      log.error({ app, ...(message.code ? { code: message.code } : {}) }, message.message);
      return;
    case 'warning':
      log.warn({ app, ...message.fields }, message.message);
      return;
    case 'logfile':
      reportLogFile(log, message, app);
      return;
    default:
      return;
  }
}
