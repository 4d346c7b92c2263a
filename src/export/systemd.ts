// `clusterd export systemd`: a service unit for one config, from the resolved config. Pure: the paths and
// the group names are given. Each setting's reason is written into the unit as a comment, so that an
// operator reading the installed file knows what to keep (docs/deploy.md#systemd).
import { dirname } from 'node:path';
import type { ResolvedApp, ResolvedConfig } from '../config/resolved.js';
import { crashLoopLimit } from '../lifecycle/policy.js';

/** WatchdogSec: the root and every primary must answer within this; clusterd pings at half of it. */
export const DEFAULT_WATCHDOG_SEC = 30;
/** Added to the longest graceful stop: primaries exiting, descendants swept, logs flushed. */
export const STOP_MARGIN_SEC = 5;
/** Added to the longest first start: forks, config load, a slow disk. */
export const START_MARGIN_SEC = 10;

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
 * Seconds a graceful stop may take: the longest app's `shutdown.delay` (serving, unready, before the
 * drain), closing spread and shutdown timeout (after which clusterd SIGKILLs), plus a margin. Apps stop
 * in parallel, so it is the maximum, not the sum (the Kubernetes grace period is budgeted alike).
 */
export function stopTimeoutSec(apps: readonly ResolvedApp[]): number {
  const longest = Math.max(
    0,
    ...apps.map((app) => app.shutdown.delay + app.shutdown.spread + app.shutdown.timeout),
  );
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
