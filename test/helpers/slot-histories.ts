// Slots built through their own steps, for the unit tests of slot-step.ts (snapshots are made only by
// the step module): workers are plain strings, and each named history leads to one state.
import type { ResolvedApp } from '../../src/config/resolved.js';
import type { AppState } from '../../src/lifecycle/states.js';
import {
  createSlot,
  type SlotContext,
  type SlotEvent,
  type SlotSnapshot,
  type SlotStep,
  slotStep,
} from '../../src/primary/pool/slot-step.js';
import { reloadSettings, resolvedApp } from './fake-pool.js';

export type W = string;
export const v1 = resolvedApp({ env: { V: '1' } });
export const v2 = resolvedApp({ env: { V: '2' } });
/** Reloaded with `reload.order` stop-first. */
export const v2StopFirst = resolvedApp({
  env: { V: '2' },
  reload: reloadSettings({ parallel: 1, order: 'stop-first' }),
});
export const ready = new Set<W>();
export const context = (app: AppState = 'running', restart = v1.restart): SlotContext<W> => ({
  app,
  restart,
  isReady: (w) => ready.has(w),
});

export function through(events: SlotEvent<W>[], app: ResolvedApp = v1, ctx = context()): SlotStep<W> {
  let step = createSlot<W>(0, app);
  for (const event of events) step = slotStep(step.snapshot, event, ctx);
  return step;
}
export const crash = (worker: W, extra: { code?: number | null; ready?: boolean } = {}): SlotEvent<W> => ({
  type: 'exited',
  worker,
  exit: {
    code: extra.code === undefined ? 1 : extra.code,
    signal: null,
    uptime: 0,
    ready: extra.ready ?? true,
  },
  reason: `exit code ${extra.code === undefined ? 1 : extra.code}`,
});
export const starting = [{ type: 'forked', role: 'worker', worker: 'w1' }] as SlotEvent<W>[];
export const serving = [...starting, { type: 'ready', worker: 'w1' }] as SlotEvent<W>[];
export const replacing = [
  ...serving,
  { type: 'replace', by: 'a rolling reload', app: v2 },
  { type: 'forked', role: 'successor', worker: 's1' },
] as SlotEvent<W>[];
export const backoff = [...serving, crash('w1')];
export const restarting = [
  ...backoff,
  { type: 'backoff-over' },
  { type: 'forked', role: 'worker', worker: 'w2' },
] as SlotEvent<W>[];
export const finished = [...serving, crash('w1', { code: 0 })];
/** A stop-first reload: the old worker drains, the slot waits for its exit. */
export const recreating = [
  ...serving,
  { type: 'replace', by: 'a rolling reload', app: v2StopFirst },
] as SlotEvent<W>[];
/** ... it exited, and the replacement started. */
export const recreated = [
  ...recreating,
  { type: 'exited', worker: 'w1', exit: null, reason: 'stopped' },
  { type: 'forked', role: 'worker', worker: 'w2' },
] as SlotEvent<W>[];

export const slotMsg = (from: string, to: string, reason?: string) => ({
  type: 'report',
  message: { type: 'slot', slot: 0, from, to, ...(reason ? { reason } : {}) },
});
export const fields = (s: SlotSnapshot<W>) => ({
  state: s.state,
  worker: s.worker,
  successor: s.successor,
  failedStarts: s.failedStarts,
  restartIn: s.restartIn,
  lastExit: s.lastExit,
  V: s.app.env.V,
  next: s.next?.env.V ?? null,
});
