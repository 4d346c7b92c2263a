// The commands that steer a running clusterd, through the programmatic client (src/client/), as any
// script would.

import { connect, type ReloadResult } from '../../client/index.js';
import { displayPath } from '../../config/display.js';
import { formatDuration } from '../../config/units.js';
import { CommandError } from '../../control/client.js';
import type { AppStatus, Command, LogEvent, RequestFigures, Status } from '../../control/protocol.js';
import { ClusterdError } from '../../errors.js';
import { formatCanary } from '../canary-table.js';
import type { Io } from '../io.js';
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

// One decimal below 10, whole numbers above: what a glance at a table needs.
const short = (n: number) => (n < 10 ? String(Math.round(n * 10) / 10) : String(Math.round(n)));

/** The REQ/S, 5XX and P99 cells of a worker: `-` for whatever is not known. */
export function requestCells(figures: RequestFigures | null): [string, string, string] {
  const f = figures ?? { rate: null, serverErrors: null, p99: null };
  return [
    f.rate === null ? '-' : short(f.rate),
    // A few 5xx among many are not none.
    f.serverErrors === null
      ? '-'
      : f.serverErrors > 0 && f.serverErrors < 0.0005
        ? '<0.1%'
        : `${short(f.serverErrors * 100)}%`,
    f.p99 === null ? '-' : `${short(f.p99)} ms`,
  ];
}

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
    [
      'APP',
      'APP STATE',
      'WORKER',
      'PID',
      'STATE',
      'RESTARTS',
      'UPTIME',
      'CPU',
      'MEMORY',
      'REQ/S',
      '5XX',
      'P99',
      'SCRIPT',
    ],
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
          // A supervisor older than the request metrics answers without `requests`.
          ...requestCells(w.requests ?? null),
          w.script === null ? '-' : displayPath(w.script),
        ])
      : [[app.name, app.state, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-']];
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

const LEVELS: Record<number, string> = { 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** One event as `clusterd events` prints it: local time, level past info, app[worker], message. */
export function formatEvent(event: LogEvent): string {
  const t = new Date(event.time);
  const time = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
  const level = LEVELS[event.level] ? ` ${LEVELS[event.level]}` : '';
  const worker = event.worker === undefined ? '' : `[${String(event.worker)}]`;
  const who = event.app === undefined ? '' : ` ${event.app}${worker}`;
  return `${time}${level}${who} ${event.msg}`;
}

/** One app's reload as `reload` prints it: its canary's verdict, or why it had none, then the count. */
function printReloaded(r: ReloadResult, io: Io): void {
  if (r.canary) io.stdout(formatCanary(r.app, r.canary));
  if (r.noCanary) io.stdout(`${escapeField(r.app)}: no canary: ${escapeField(r.noCanary)}\n`);
  io.stdout(
    `${escapeField(r.app)}: reloaded, ${r.replaced} worker${r.replaced === 1 ? '' : 's'} replaced in ${formatDuration(r.ms)}\n`,
  );
}

// What the root answers is shown escaped (terminal-text.ts), but for `--json` and for `logs` into a pipe
// or a file: those are data, kept byte for byte.
/**
 * Runs one control command through the client and prints its result; the exit code says whether it
 * worked (docs/errors.md: each code has its own). With `--json` a failure is printed as JSON too, on
 * stdout, `{ "error": { "code", "message", "apps"? } }`, and its message on stderr as always.
 */
export async function controlCommand(command: Command, options: ControlOptions, io: Io): Promise<number> {
  try {
    return await runControl(command, options, io);
  } catch (error) {
    // A canary's verdict is the answer to the reload even when it rolled the reload back: its table is
    // printed, the failure then as every failure is.
    if (!options.json && error instanceof CommandError) {
      if (command.cmd === 'reload') for (const r of error.done as ReloadResult[]) printReloaded(r, io);
      for (const a of error.apps) if (a.canary) io.stdout(formatCanary(a.app, a.canary));
    }
    if (options.json && error instanceof ClusterdError) {
      const apps =
        error instanceof CommandError
          ? { apps: error.apps, ...(error.done.length ? { done: error.done } : {}) }
          : {};
      io.stdout(
        `${JSON.stringify({ error: { code: error.code, message: error.message, ...apps } }, null, 2)}\n`,
      );
    }
    throw error;
  }
}

async function runControl(command: Command, options: ControlOptions, io: Io): Promise<number> {
  const client = await connect(options.config === undefined ? {} : { config: options.config });
  const output = (text: string) => (io.terminal ? escapeText(text) : text);
  const wait = 'timeout' in command && command.timeout !== undefined ? { timeout: command.timeout } : {};
  const json = (value: unknown) => io.stdout(`${JSON.stringify(value ?? null, null, 2)}\n`);
  switch (command.cmd) {
    case 'status': {
      const status = await client.status();
      io.stdout(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      break;
    }
    case 'reload': {
      const canary = command.canary === undefined ? {} : { canary: command.canary };
      const results = await client.reload(command.app, { ...wait, ...canary });
      if (options.json) json(results);
      else for (const r of results) printReloaded(r, io);
      break;
    }
    case 'restart': {
      const apps = await client.restart(command.app, wait);
      if (options.json) json(apps);
      else io.stdout(`restarted: ${escapeField(apps.join(', '))}\n`);
      break;
    }
    case 'scale': {
      const r = await client.scale(command.app, command.instances as `+${number}`, wait);
      if (options.json) json(r);
      else io.stdout(`${escapeField(r.app)}: ${r.from} -> ${r.to} workers\n`);
      break;
    }
    case 'stop': {
      const apps = await client.stop(command.app, wait);
      if (options.json) json(apps);
      else io.stdout(`stopped: ${escapeField(apps.join(', '))}\n`);
      break;
    }
    case 'start':
      await client.start(command.app, wait);
      if (options.json) json(command.app);
      else io.stdout(`started: ${escapeField(command.app)}\n`);
      break;
    case 'shutdown': {
      const { pid } = await client.shutdown();
      if (options.json) json({ pid });
      else io.stdout(`clusterd ${pid} is shutting down\n`);
      break;
    }
    case 'logs': {
      const { cmd: _, ...wanted } = command;
      const lines: string[] = [];
      for await (const line of client.logs(wanted)) {
        if (options.json && !command.follow) lines.push(line);
        else io.stdout(`${output(line)}\n`);
      }
      if (options.json && !command.follow) json({ lines });
      break;
    }
    case 'events':
      for await (const event of client.events(command.app === undefined ? {} : { app: command.app }))
        io.stdout(options.json ? `${JSON.stringify(event)}\n` : `${escapeText(formatEvent(event))}\n`);
      break;
    case 'send': {
      const r = await client.send(
        command.app,
        command.topic,
        command.data,
        command.worker === undefined ? {} : { worker: command.worker },
      );
      if (options.json) json(r);
      else {
        const list = r.workers.map((w) => `${w.worker} (pid ${w.pid})`).join(', ');
        const n = r.workers.length;
        io.stdout(
          `${escapeField(r.app)}: sent ${escapeField(r.topic)} to ${n} worker${n === 1 ? '' : 's'}: ${list}\n`,
        );
      }
      break;
    }
    case 'up':
      throw new Error('up is run by commands/up.ts');
  }
  return 0;
}
