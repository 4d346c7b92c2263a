// The environment of one worker, built in one place, once per fork: the supervisor's environment (the
// primary's own, which it never changes), the app's env files over it, the app's `env` over those
// (`null` removes a variable), `incrementVar` counted up for the slot, and the variables clusterd sets
// for the worker.
import { compileCacheInUse } from '../../compile-cache.js';
import { readEnvFiles } from '../../config/env-file.js';
import type { ResolvedApp } from '../../config/resolved.js';
import { incrementedValue, ownValue } from '../../config/slot-vars.js';
import { readProblem } from './access.js';

/**
 * The variables of the app's env files, read now (at each worker start, so an edited file applies at
 * the next reload or restart). Throws when one cannot be used: the worker's start fails with that
 * reason, as any failed start does, and what runs is left running.
 */
export function envFileVars(app: Pick<ResolvedApp, 'envFiles' | 'runAs'>): Record<string, string> {
  const { runAs } = app;
  if (runAs && runAs.uid !== process.geteuid?.()) {
    for (const file of app.envFiles) {
      const problem = readProblem(file, runAs);
      if (problem) throw new Error(`env file ${file} is not readable by the app's user: ${problem}`);
    }
  }
  return readEnvFiles(app.envFiles);
}

export function workerEnv(
  base: Readonly<NodeJS.ProcessEnv>,
  app: ResolvedApp,
  slot: number,
  fileVars: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  // A worker run as another user gets that user's identity, as login(1), su - and systemd's User= give
  // it: a HOME of the supervisor's (/root) would send caches and dotfiles where the worker cannot write.
  // The app's env files and `env` still win.
  const user = app.runAs?.user;
  if (user) {
    env.USER = user;
    env.LOGNAME = user;
    if (app.runAs?.home) env.HOME = app.runAs.home;
  }
  for (const [key, value] of Object.entries(fileVars)) env[key] = value;
  for (const [key, value] of Object.entries(app.env)) {
    if (value === null) delete env[key];
    else env[key] = value;
  }
  // The app's own value (not the supervisor's) plus the slot; throws, failing this start, when the value
  // is no longer an integer (an env file edited since the load) or the slot takes it past its bound.
  const counted = app.incrementVar;
  if (counted) env[counted] = incrementedValue(counted, ownValue(counted, app.env, fileVars), slot);
  const id = String(slot);
  env.NODE_APP_INSTANCE = id;
  env.CLUSTERD_WORKER_ID = id;
  if (app.instanceVar) env[app.instanceVar] = id;
  env.CLUSTERD_APP = app.name;
  env.CLUSTERD_SHUTDOWN_SIGNAL = app.shutdown.signal;
  env.CLUSTERD_SHUTDOWN_TIMEOUT = String(app.shutdown.timeout);
  env.CLUSTERD_SHUTDOWN_SPREAD = String(app.shutdown.spread);
  env.CLUSTERD_BALANCING = app.balancing;
  env.CLUSTERD_READINESS = app.readiness;
  // Read by the preload: '0' leaves the requests uncounted (worker/requests.cts).
  env.CLUSTERD_REQUEST_METRICS = app.requestMetrics ? '1' : '0';
  // Read (and removed) by the preload, which enables the cache there before the app loads. Only for a
  // worker of clusterd's own user: the directory is private to it (compile-cache.ts).
  delete env.CLUSTERD_COMPILE_CACHE;
  const cache = compileCacheInUse();
  const ownUser = !app.runAs || app.runAs.uid === process.geteuid?.();
  if (app.compileCache && cache && ownUser) env.CLUSTERD_COMPILE_CACHE = cache;
  return env;
}
