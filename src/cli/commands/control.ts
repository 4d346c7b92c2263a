// The commands that steer a running clusterd over its control socket.

import { displayPath } from '../../config/display.js';
import { formatDuration } from '../../config/units.js';
import { locateSocket, sendCommand } from '../../control/client.js';
import type { AppStatus, Command, Status } from '../../control/protocol.js';
import type { Io } from '../main.js';
import { escapeField, escapeText } from '../terminal-text.js';

export interface ControlOptions {
  config: string | undefined;
  json: boolean;
}

function ago(ms: number): string {
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`;
  return `${Math.floor(ms / 86_400_000)}d${Math.floor((ms % 86_400_000) / 3_600_000)}h`;
}

const mib = (bytes: number | null) => (bytes === null ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatStatus(status: Status): string {
  const rows: string[][] = [
    ['APP', 'APP STATE', 'WORKER', 'PID', 'STATE', 'RESTARTS', 'UPTIME', 'CPU', 'MEMORY', 'SCRIPT'],
  ];
  const appRows = (app: AppStatus) =>
    app.workers.length
      ? app.workers.map((w) => [
          app.name,
          app.state,
          String(w.id),
          String(w.pid ?? '-'),
          w.state === 'draining' && w.connections !== null ? `draining (${w.connections} open)` : w.state,
          String(w.restarts),
          ago(w.uptime),
          w.cpu === null ? '-' : `${w.cpu}%`,
          mib(w.memory),
          w.script === null ? '-' : displayPath(w.script),
        ])
      : [[app.name, app.state, '-', '-', '-', '-', '-', '-', '-', '-']];
  for (const app of status.apps) rows.push(...appRows(app).map((r) => r.map(escapeField)));
  // What the guards did is why a worker is younger than its app: worth a line, not a column.
  const guarded = status.apps.flatMap((app) => {
    const counts = Object.entries(app.replaced ?? {}).map(([cause, n]) => `${cause} ${n}`);
    return counts.length ? [`${app.name}: workers replaced by guards: ${counts.join(', ')}`] : [];
  });
  const head = `clusterd ${status.pid}, ${displayPath(status.config)}${status.environment ? ` (--env ${status.environment})` : ''}, up ${ago(status.uptime)}`;
  // Lines being dropped are news an operator must not have to ask for with --json.
  const faults = (status.logFaults ?? []).map(
    (f) =>
      `log file not written${f.app ? ` (${f.app})` : ''}: ${displayPath(f.file)}: ${f.error} since ${ago(Date.now() - f.since)}, its lines are dropped`,
  );
  const notes = [...guarded, ...faults];
  return `${escapeField(head)}\n${table(rows)}\n${notes.map((line) => `${escapeField(line)}\n`).join('')}`;
}

// What the root answers is shown escaped (terminal-text.ts), but for `--json` and for `logs` into a pipe
// or a file: those are data, kept byte for byte.
/** Runs one control command and prints its result; the exit code says whether it worked. */
export async function controlCommand(command: Command, options: ControlOptions, io: Io): Promise<number> {
  const target = locateSocket(process.cwd(), options.config);
  const output = (text: string) => (io.terminal ? escapeText(text) : text);
  const result = await sendCommand(target, command, (line) => io.stdout(`${output(line)}\n`));
  if (options.json) {
    io.stdout(`${JSON.stringify(result ?? null, null, 2)}\n`);
    return 0;
  }
  switch (command.cmd) {
    case 'status':
      io.stdout(formatStatus(result as Status));
      break;
    case 'reload':
      for (const r of result as { app: string; replaced: number; ms: number }[]) {
        io.stdout(
          `${escapeField(r.app)}: reloaded, ${r.replaced} workers replaced in ${formatDuration(r.ms)}\n`,
        );
      }
      break;
    case 'restart':
      io.stdout(`restarted: ${escapeField((result as string[]).join(', '))}\n`);
      break;
    case 'scale': {
      const r = result as { app: string; from: number; to: number };
      io.stdout(`${escapeField(r.app)}: ${r.from} -> ${r.to} workers\n`);
      break;
    }
    case 'stop':
      io.stdout(`stopped: ${escapeField((result as string[]).join(', '))}\n`);
      break;
    case 'start':
      io.stdout(`started: ${escapeField(String(result))}\n`);
      break;
    case 'shutdown':
      io.stdout(`clusterd ${(result as { pid: number }).pid} is shutting down\n`);
      break;
    case 'logs':
      if (result) for (const line of (result as { lines: string[] }).lines) io.stdout(`${output(line)}\n`);
      break;
  }
  return 0;
}
