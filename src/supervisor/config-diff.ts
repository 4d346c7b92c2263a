// What a config reload changes, app by app: the smallest set of actions that gets from the running
// config to the new one. Pure, so it is unit-tested.
import type { ResolvedApp } from '../config/resolved.js';

export type AppChange =
  | { action: 'add'; app: ResolvedApp }
  | { action: 'remove'; name: string }
  | { action: 'scale'; app: ResolvedApp; from: number; to: number }
  | { action: 'roll'; app: ResolvedApp; changed: string[] }
  /** A change no rolling reload can make: the app is stopped, then started on the new settings. */
  | { action: 'restart'; app: ResolvedApp; changed: string[]; why: string }
  | { action: 'keep'; name: string };

function changedKeys(a: ResolvedApp, b: ResolvedApp): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof ResolvedApp)[]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

// Who listens on the app's TCP ports: node:cluster's primary (round-robin), clusterd's primary (the
// handoff balancings) or each worker with SO_REUSEPORT (kernel). Old and new workers of a rolling reload
// share the port, which two different listeners cannot: the second bind fails with EADDRINUSE.
const LISTENER: Record<ResolvedApp['balancing'], string> = {
  'round-robin': 'cluster',
  'least-connections': 'handoff',
  sticky: 'handoff',
  kernel: 'kernel',
};

export function diffApps(current: readonly ResolvedApp[], next: readonly ResolvedApp[]): AppChange[] {
  const before = new Map(current.map((a) => [a.name, a]));
  const after = new Map(next.map((a) => [a.name, a]));
  const changes: AppChange[] = [];
  for (const app of current) if (!after.has(app.name)) changes.push({ action: 'remove', name: app.name });
  for (const app of next) {
    const old = before.get(app.name);
    if (!old) {
      changes.push({ action: 'add', app });
      continue;
    }
    const changed = changedKeys(old, app);
    if (!changed.length) changes.push({ action: 'keep', name: app.name });
    else if (old.primaryGroup !== app.primaryGroup) {
      // The workers are node:cluster's children of one primary: another primary cannot take them over.
      const shown = (g: string | null) => (g === null ? 'its own' : `group ${g}`);
      const why = `primaryGroup ${shown(old.primaryGroup)} -> ${shown(app.primaryGroup)} moves the app to another primary process`;
      changes.push({ action: 'restart', app, changed, why });
    } else if (LISTENER[old.balancing] !== LISTENER[app.balancing]) {
      const why = `balancing ${old.balancing} -> ${app.balancing} changes who listens on the app's ports, which old and new workers cannot share`;
      changes.push({ action: 'restart', app, changed, why });
    } else if (changed.length === 1 && changed[0] === 'instances') {
      changes.push({ action: 'scale', app, from: old.instances, to: app.instances });
    } else changes.push({ action: 'roll', app, changed });
  }
  return changes;
}
