// `clusterd export systemd`: a service unit for one config, from the resolved config. Pure: the paths and
// the group names are given. Each setting's reason is written into the unit as a comment, so that an
// operator reading the installed file knows what to keep (docs/deploy.md#systemd).
import { dirname } from 'node:path';
import type { ResolvedApp, ResolvedConfig } from '../config/resolved.js';
import { crashLoopLimit } from '../lifecycle/policy.js';
import { stopBudgetMs } from '../lifecycle/stop-budget.js';
import { describeListen, namedByPath } from './program.js';

/** WatchdogSec: the root and every primary must answer within this; clusterd pings at half of it. */
export const DEFAULT_WATCHDOG_SEC = 30;
/** Added to the longest graceful stop: primaries exiting, descendants swept, logs flushed. */
export const STOP_MARGIN_SEC = 5;
/** Added to the longest first start: forks, config load, a slow disk. */
export const START_MARGIN_SEC = 10;
/**
 * The PATH systemd gives a system service (systemd.exec(5), "Environment Variables in Spawned
 * Processes"): a program's bare command name is looked up there when the service loads the config. Its
 * builds for a /usr that is not merged append /sbin and /bin; where /usr is merged they are /usr's own.
 */
export const SERVICE_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin'] as const;
const SERVICE_PATH_DIRS: readonly string[] = [...SERVICE_PATH, '/sbin', '/bin'];
/** Ports below this need CAP_NET_BIND_SERVICE (net.ipv4.ip_unprivileged_port_start's default). */
export const FIRST_UNPRIVILEGED_PORT = 1024;

export interface UnitInput {
  config: ResolvedConfig;
  /** The unit's name without `.service`. */
  name: string;
  /** Absolute: the Node.js binary (process.execPath) and clusterd's bin.js. */
  node: string;
  bin: string;
  /** The group's name for a gid, or null (then the number is written). */
  groupName(gid: number): string | null;
}

/** Valid unit name stems (systemd.unit(5)): letters, digits, ":-_.\", no template "@". */
export function isUnitName(name: string): boolean {
  return /^[A-Za-z0-9:_.\\-]{1,200}$/.test(name) && !name.startsWith('-');
}

/** A unit name from the config's directory: `clusterd-shop` for /srv/shop/cluster.config.json. */
export function defaultUnitName(configFile: string): string {
  const dir = dirname(configFile).split('/').pop() ?? '';
  const stem = dir.replace(/[^A-Za-z0-9:_.-]+/g, '-').replace(/^-+|-+$/g, '');
  return stem ? `clusterd-${stem}` : 'clusterd';
}

/** A value where systemd expands specifiers (%) and, in commands, variables ($): both doubled. */
function escapeValue(value: string): string {
  if (/[\n\r\0]/.test(value))
    throw new Error(`a unit cannot hold a newline or NUL: ${JSON.stringify(value)}`);
  return value.replaceAll('%', '%%');
}

/** One word of ExecStart=: quoted when it has to be (systemd.service(5), "Command lines"). */
function word(value: string): string {
  const escaped = escapeValue(value).replaceAll('$', '$$$$');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** One Environment= assignment, quoted (specifiers are expanded there, variables are not). */
function assignment(key: string, value: string): string {
  return `"${escapeValue(`${key}=${value}`).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/**
 * Seconds a graceful stop may take: the longest app's stop budget (lifecycle/stop-budget.ts:
 * `shutdown.delay`, a leader's stop handlers, the closing spread and the shutdown timeout after which
 * clusterd SIGKILLs), plus a margin. Apps stop in parallel, so it is the maximum, not the sum (the
 * Kubernetes grace period is budgeted alike).
 */
export function stopTimeoutSec(apps: readonly ResolvedApp[]): number {
  const longest = Math.max(0, ...apps.map(stopBudgetMs));
  return Math.ceil(longest / 1000) + STOP_MARGIN_SEC;
}

/**
 * Seconds the first start may take before READY=1: clusterd answers it once every app runs or has
 * given up (its crash-loop limit), and systemd must not kill it sooner. The worst case per app is every
 * start failing at its readyTimeout, each then stopped (SIGKILL at shutdown.spread + shutdown.timeout at
 * the latest), with the backoff between them; at least systemd's default 90 s.
 */
export function startTimeoutSec(apps: readonly ResolvedApp[]): number {
  const longest = Math.max(
    0,
    ...apps.map((app) => {
      const { failedStarts, backoffMs } = crashLoopLimit(app.restart);
      const { spread, timeout } = app.shutdown;
      return failedStarts * (app.readyTimeout + spread + timeout) + backoffMs;
    }),
  );
  return Math.max(90, Math.ceil(longest / 1000) + START_MARGIN_SEC);
}

/** Where the service finds a program's executable when it loads the config. */
type Lookup =
  /** Its command names it by a path (relative to the app's cwd): the same file. */
  | 'path'
  /** A bare name, looked up on the app's own `env.PATH`, which the service gives it too. */
  | 'app-path'
  /** A bare name the export found in a directory of the service's PATH. */
  | 'service-path'
  /** A bare name the export found on its own PATH only: the service will not find it there. */
  | 'export-path';

function lookup(app: ResolvedApp, file: string, byPath: boolean): Lookup {
  if (byPath) return 'path';
  if (typeof app.env.PATH === 'string') return 'app-path';
  return SERVICE_PATH_DIRS.includes(dirname(file)) ? 'service-path' : 'export-path';
}

const LOOKUP_NOTE: Record<Lookup, string> = {
  path: 'a path in the config',
  'app-path': "on the app's env.PATH",
  'service-path': "on the service's PATH",
  'export-path':
    "found on the PATH of the export, which the service does not search: the config would not load; set the app's env.PATH, or give the executable's path in its command",
};

/** The programs (`command` apps) clusterd runs, one comment line each; none for Node.js apps. */
function programLines(apps: readonly ResolvedApp[]): string[] {
  const lines: string[] = [];
  for (const app of apps) {
    const program = app.program;
    if (!program) continue;
    const where = lookup(app, program.file, namedByPath(program));
    const socket = program.listen
      ? `; clusterd listens on ${describeListen(program.listen)} and hands the socket to each instance`
      : '';
    lines.push(`#   ${escapeValue(`${app.name}: ${program.file} (${LOOKUP_NOTE[where]})${socket}`)}`);
  }
  if (lines.length === 0) return [];
  return [
    '# clusterd runs these programs, and finds their executables again each time it loads the config:',
    ...lines,
  ];
}

/**
 * What the operator should know about the unit before installing it (the CLI prints these on stderr): a
 * program whose executable the service would not find.
 */
export function systemdWarnings(config: ResolvedConfig): string[] {
  const warnings: string[] = [];
  for (const app of config.apps) {
    const program = app.program;
    if (!program || lookup(app, program.file, namedByPath(program)) !== 'export-path') continue;
    warnings.push(
      `app ${app.name}: "${program.command[0]}" was found in ${dirname(program.file)}, which is not on the PATH systemd gives a service (${SERVICE_PATH.join(':')}): the service would refuse the config (exit 78); set "PATH" in the app's "env", or give the executable's path in "command"`,
    );
  }
  return warnings;
}

/** Programs' listen ports that need CAP_NET_BIND_SERVICE: below 1024, opened by a clusterd that is not root. */
function privilegedPorts(apps: readonly ResolvedApp[], who: Identity): string[] {
  if (who.kind !== 'same' || who.uid === 0) return [];
  return apps.flatMap((app) => {
    const listen = app.program?.listen;
    return listen && listen.port < FIRST_UNPRIVILEGED_PORT ? [`${app.name} ${listen.port}`] : [];
  });
}

type Identity =
  | { kind: 'same'; uid: number; gid: number; user: string | null }
  | { kind: 'supervisor' }
  | { kind: 'mixed'; users: string[] };

// Who the root can run as: the apps' user when they all run as one, else root.
function identity(apps: readonly ResolvedApp[]): Identity {
  const runAs = apps.map((a) => a.runAs);
  const first = runAs[0];
  if (first && runAs.every((r) => r !== null && r.uid === first.uid && r.gid === first.gid))
    return { kind: 'same', uid: first.uid, gid: first.gid, user: first.user };
  if (runAs.every((r) => r === null)) return { kind: 'supervisor' };
  return {
    kind: 'mixed',
    users: apps.map((a) => `${a.name}: ${a.runAs ? (a.runAs.user ?? `uid ${a.runAs.uid}`) : 'root'}`),
  };
}

/** The unit file's text. Throws on a path a unit cannot hold (a newline). */
export function systemdUnit(input: UnitInput): string {
  const { config, name, node, bin } = input;
  const apps = config.apps;
  // `--env` comes from Environment=CLUSTERD_ENV, so a drop-in (systemctl edit) can change it.
  const exec = [node, bin, 'start', config.file].map(word).join(' ');
  const who = identity(apps);
  const summary = apps.map((a) => a.name).join(', ');
  const lines = [
    `# Written by clusterd export systemd for ${escapeValue(config.file)}.`,
    `# Install: copy to /etc/systemd/system/${name}.service, then systemctl daemon-reload && systemctl enable --now ${name}`,
    '[Unit]',
    `Description=${escapeValue(`clusterd: ${summary}`)}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    '# clusterd says READY=1 once every app has started (or given up: STATUS= names it), RELOADING=1 and',
    '# READY=1 around reloads, STOPPING=1 when it stops.',
    'Type=notify',
    '# The notifications are sent by systemd-notify, a child of clusterd, not by the main process itself.',
    'NotifyAccess=all',
    ...(config.environment
      ? [
          `# --env: the config's environments.${escapeValue(config.environment)} overlay.`,
          `Environment=${assignment('CLUSTERD_ENV', config.environment)}`,
          `ExecStart=${exec} --env \${CLUSTERD_ENV}`,
        ]
      : [`ExecStart=${exec}`]),
    ...programLines(apps),
    '# SIGHUP re-reads the config and applies the difference (rolling reloads, no dropped request). With',
    '# systemd 253 or newer, Type=notify-reload instead of Type=notify and no ExecReload= makes',
    '# systemctl reload wait for the READY=1 that ends the reload.',
    'ExecReload=/bin/kill -s HUP $MAINPID',
    // A path setting takes the rest of the line as it is: no quotes.
    `WorkingDirectory=${escapeValue(dirname(config.file))}`,
    `SyslogIdentifier=${escapeValue(name)}`,
    '# The control socket: clusterd status|reload|logs find it with RUNTIME_DIRECTORY=/run/' +
      escapeValue(name),
    `RuntimeDirectory=${escapeValue(name)}`,
    'RuntimeDirectoryMode=0700',
    "# clusterd stops its own tree: drain, the apps' stop signal, SIGKILL at shutdown.timeout. systemd sends",
    '# SIGTERM to clusterd alone, and SIGKILLs what is left only when TimeoutStopSec is over.',
    'KillMode=mixed',
    "# The longest app's shutdown delay + spread + timeout, plus a margin.",
    `TimeoutStopSec=${stopTimeoutSec(apps)}`,
    '# The longest first start clusterd waits for before READY=1 (crash-loop limit included).',
    `TimeoutStartSec=${startTimeoutSec(apps)}`,
    `# WATCHDOG=1 every ${DEFAULT_WATCHDOG_SEC / 2}s while clusterd and every app's primary answer; a primary`,
    '# restarting after a crash is not hung. Remove to turn the watchdog off.',
    `WatchdogSec=${DEFAULT_WATCHDOG_SEC}`,
    'Restart=on-failure',
    '# 64 usage, 66 no config, 78 invalid config: restarting does not fix those.',
    'RestartPreventExitStatus=64 66 78',
    ...userLines(who, input.groupName),
    ...capabilityLines(privilegedPorts(apps, who)),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}

function userLines(who: Identity, groupName: (gid: number) => string | null): string[] {
  switch (who.kind) {
    case 'same':
      return [
        '# Every app runs as this user, so clusterd itself does too.',
        `User=${escapeValue(who.user ?? String(who.uid))}`,
        `Group=${escapeValue(groupName(who.gid) ?? String(who.gid))}`,
      ];
    case 'mixed':
      return [
        '# No User=: the apps run as different users, which only root can switch to, so clusterd runs',
        `# as root (${escapeValue(who.users.join('; '))}).`,
      ];
    case 'supervisor':
      return [
        '# No User=: the apps set no user, so they run as root with clusterd; set "user" in the config.',
      ];
  }
}

function capabilityLines(ports: readonly string[]): string[] {
  if (ports.length === 0) return [];
  return [
    `# clusterd opens the programs' sockets itself, as this user, and a port below ${FIRST_UNPRIVILEGED_PORT} needs this`,
    `# capability (${escapeValue(ports.join(', '))}); the processes it starts inherit it.`,
    'AmbientCapabilities=CAP_NET_BIND_SERVICE',
  ];
}
