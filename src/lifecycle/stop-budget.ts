// The longest a Node.js worker or a program's instance may take to stop once it is told to, from the
// app's settings: what the systemd unit's TimeoutStopSec, the Kubernetes grace period and `clusterd stop`'s
// default bound are made of, so that none of them cuts a stop clusterd is still carrying out.

import type { ResolvedApp } from '../config/resolved.js';

/**
 * The time a worker that leads its app (clusterd/worker's onLeadership) may take to give leadership up
 * before its drain begins: its stop handlers get `shutdown.timeout` (primary/leader/). Whether an app
 * uses leadership is known only once its workers ask, so every Node.js app is budgeted for it; a program
 * never leads.
 */
export function leaderStopMs(app: ResolvedApp): number {
  return app.program ? 0 : app.shutdown.timeout;
}

/**
 * A worker's stop, once told: `shutdown.delay` (serving, unready), a leader's stop handlers, then the
 * drain: its closing spread and `shutdown.timeout`, after which clusterd SIGKILLs it.
 */
export function stopBudgetMs(app: ResolvedApp): number {
  return app.shutdown.delay + leaderStopMs(app) + app.shutdown.spread + app.shutdown.timeout;
}
