// Restarts and stops: autorestart, stop_exit_codes, min_uptime and max_restarts (PM2's unstable
// restarts against clusterd's failed starts in a row), the restart delays, kill_timeout and the signal.
import type { AppMapping } from './mapping.js';
import { pm2Millis, pm2Number, pm2Time, shownValue } from './values.js';

/** PM2's ceiling on exp_backoff_restart_delay's growth (lib/God.js). */
const PM2_BACKOFF_MAX_MS = 15_000;
/** clusterd's upper bound on restart.maxRestarts (the schema's). */
const MAX_RESTARTS = 100_000;

function mapPolicy(m: AppMapping) {
  const found = m.take('autorestart');
  if (found?.value === false || found?.value === 'false') {
    m.restart().policy = 'never';
    m.mapped(found, 'restart.policy', '"never"');
    return;
  }
  m.restart().policy = 'always';
  const note = `"always": PM2 restarts an app whatever its exit code, a clean exit too (clusterd's default, on-failure, would not)`;
  if (found) m.mapped(found, 'restart.policy', note);
  else m.mapped('(autorestart not set: true)', 'restart.policy', note);
}

function mapExitCodes(m: AppMapping) {
  const found = m.take('stop_exit_codes');
  if (!found) return;
  const codes = (Array.isArray(found.value) ? found.value : [found.value]).map(pm2Number);
  if (!codes.every((c): c is number => c !== null && Number.isInteger(c) && c >= 0 && c <= 255))
    return m.unsupported(found, `${shownValue(found.value)}: exit codes are whole numbers from 0 to 255`);
  m.restart().noRestartExitCodes = [...new Set(codes)];
  m.mapped(found, 'restart.noRestartExitCodes');
}

function mapCrashLoop(m: AppMapping) {
  const uptime = m.take('min_uptime');
  if (uptime) {
    const value = pm2Time(uptime.value);
    if (value === null)
      m.unsupported(
        uptime,
        `${shownValue(uptime.value)} is not a time PM2 reads (ms, or a number with h, m or s)`,
      );
    else {
      m.restart().stableAfter = value;
      m.changed(
        uptime,
        'restart.stableAfter',
        "a worker that was ready and stayed up this long started well and resets the count of failed starts; PM2 counts an exit sooner than min_uptime as unstable, only in the app's first min_uptime x max_restarts, and never resets the count",
      );
    }
  }
  const restarts = m.take('max_restarts');
  if (!restarts) return;
  const n = pm2Number(restarts.value);
  if (n === null || n < 0)
    return m.unsupported(restarts, `${shownValue(restarts.value)} is not a number of restarts`);
  const unstable = Math.ceil(n);
  const limit = Math.min(Math.max(unstable - 1, 0), MAX_RESTARTS);
  m.restart().maxRestarts = limit;
  const failed = '(an exit before restart.stableAfter, or never ready)';
  m.changed(
    restarts,
    'restart.maxRestarts',
    unstable === 0
      ? `0: PM2 never restarts the app; clusterd gives up at its first failed start ${failed}, but restarts a worker that crashes after a stable run`
      : `${limit}: PM2 stops after ${unstable} unstable exit${unstable === 1 ? '' : 's'}; clusterd after maxRestarts + 1 = ${limit + 1} failed start${limit === 0 ? '' : 's'} in a row ${failed}`,
  );
}

function mapDelays(m: AppMapping) {
  const fixed = m.take('restart_delay');
  const growing = m.take('exp_backoff_restart_delay');
  const exp = growing ? pm2Millis(growing.value) : null;
  if (growing && exp === null) m.unsupported(growing, `${shownValue(growing.value)} is not a time in ms`);
  if (fixed) {
    const ms = pm2Millis(fixed.value);
    if (ms === null) m.unsupported(fixed, `${shownValue(fixed.value)} is not a time in ms`);
    else if (exp !== null)
      m.changed(fixed, '', 'ignored: PM2 too ignores it when exp_backoff_restart_delay is set');
    else {
      m.restart().backoff = { initial: ms, factor: 1, max: ms };
      m.mapped(fixed, 'restart.backoff', 'the same delay before every restart (factor 1)');
    }
  }
  if (exp === null || !growing) return;
  m.restart().backoff = { initial: exp, factor: 1.5, max: Math.max(exp, PM2_BACKOFF_MAX_MS) };
  m.changed(
    growing,
    'restart.backoff',
    "x1.5 up to 15s as PM2's; the delay goes back to the start once a worker stays up restart.stableAfter, where PM2 waits for 30s up",
  );
}

function mapStop(m: AppMapping) {
  // A Node.js worker is drained first; a program's instance gets the signal in its whole process group.
  const program = m.program !== null;
  m.shutdown().signal = 'SIGINT';
  m.mapped(
    '(stop signal: SIGINT)',
    'shutdown.signal',
    program
      ? "PM2 stops an app with SIGINT (unless PM2_KILL_SIGNAL says otherwise); clusterd sends it to the instance's process group"
      : 'PM2 stops an app with SIGINT (unless PM2_KILL_SIGNAL says otherwise); clusterd drains the worker, then sends it',
  );
  const timeout = m.take('kill_timeout');
  if (timeout) {
    const ms = pm2Millis(timeout.value);
    if (ms === null) m.unsupported(timeout, `${shownValue(timeout.value)} is not a time in ms`);
    else {
      m.shutdown().timeout = ms;
      if (program)
        m.mapped(
          timeout,
          'shutdown.timeout',
          "SIGKILL comes this long after SIGINT, as in PM2, to the instance's process group",
        );
      else
        m.changed(
          timeout,
          'shutdown.timeout',
          'SIGKILL comes this long after the stop began, as in PM2, but clusterd first drains the worker (no new connections, requests in flight finish), then sends SIGINT',
        );
    }
  }
  const message = m.take('shutdown_with_message');
  if (message?.value === true)
    m.unsupported(
      message,
      program
        ? "clusterd sends a program no 'shutdown' message, only shutdown.signal (SIGINT): handle SIGINT"
        : "clusterd sends no 'shutdown' message: it drains the worker, then sends shutdown.signal (SIGINT); move the handler to onShutdown from clusterd/worker, or to process.on('SIGINT')",
    );
  else if (message) m.mapped(message, '', 'off');
}

/** Maps autorestart, stop_exit_codes, min_uptime, max_restarts, the restart delays and stopping. */
export function mapLifecycle(m: AppMapping): void {
  mapPolicy(m);
  mapExitCodes(m);
  mapCrashLoop(m);
  mapDelays(m);
  mapStop(m);
}
