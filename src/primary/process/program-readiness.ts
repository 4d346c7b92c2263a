// When a program's instance counts as ready (`readiness` of an app with `command`):
// - `loaded`: it has run `readySettle` without exiting;
// - `port`: a connection to its `listen` port was accepted by the instance itself. The socket is shared
//   by every instance (and the kernel accepts connections on it before any of them does), so a
//   connection that merely succeeds proves nothing: the primary connects, finds the accepted end in
//   /proc/net/tcp{,6} by the two ports, and looks for its inode among the file descriptors of the
//   instance's process group. A probe another instance took is closed unanswered, and tried again;
// - a probe: `{ http }` answered 2xx, or `{ command }` exiting 0, tried every `interval` (each attempt
//   bounded by it too).
// Each returns how to stop watching (the instance exited, or is being stopped).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import type { ResolvedApp, ResolvedListen } from '../../config/resolved.js';
import { isLive } from '../stop/descendants.js';
import type { ProcSystem } from '../stop/descendants-proc.js';

/** How often the accepted end of a `port` probe is looked for, and for how long before a new probe. */
const LOOK_EVERY_MS = 20;
const LOOKS = 15;
/** Time between two `port` probes, and the connections each makes. */
const PORT_PROBE_EVERY_MS = 100;
const PORT_PROBES = 4;

export interface ReadinessTarget {
  pid: number;
  slot: number;
  env: Readonly<Record<string, string>>;
  sys: ProcSystem;
  ready(): void;
}

export function watchReadiness(app: ResolvedApp, target: ReadinessTarget): () => void {
  const listen = app.program?.listen ?? null;
  if (app.readiness === 'port' && listen) return watchPort(listen, target);
  const probe = app.probe;
  if (app.readiness === 'probe' && probe) {
    const attempt =
      'http' in probe
        ? (done: (ok: boolean) => void) => httpProbe(probe.http, probe.interval, done)
        : (done: (ok: boolean) => void) => commandProbe(app, probe.command, probe.interval, target, done);
    return repeat(attempt, probe.interval, target.ready);
  }
  // `loaded`: alive after the settle time.
  const timer = setTimeout(target.ready, app.readySettle);
  return () => clearTimeout(timer);
}

// Runs `attempt` every `interval` ms (never two at once) until one succeeds.
function repeat(attempt: (done: (ok: boolean) => void) => () => void, interval: number, ready: () => void) {
  let stopped = false;
  let cancel: () => void = () => {};
  let timer: NodeJS.Timeout | null = null;
  const run = () => {
    timer = null;
    const started = Date.now();
    cancel = attempt((ok) => {
      cancel = () => {};
      if (stopped) return;
      if (ok) {
        stopped = true;
        ready();
        return;
      }
      timer = setTimeout(run, Math.max(0, interval - (Date.now() - started)));
    });
  };
  run();
  return () => {
    stopped = true;
    cancel();
    if (timer) clearTimeout(timer);
  };
}

function httpProbe(url: string, interval: number, done: (ok: boolean) => void): () => void {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), interval);
  fetch(url, { signal: controller.signal, redirect: 'manual' })
    .then(async (response) => {
      await response.body?.cancel();
      return response.status >= 200 && response.status < 300;
    })
    .catch(() => false)
    .then((ok) => {
      clearTimeout(timer);
      done(ok);
    });
  return () => {
    clearTimeout(timer);
    controller.abort();
  };
}

function commandProbe(
  app: ResolvedApp,
  command: readonly string[],
  interval: number,
  target: ReadinessTarget,
  done: (ok: boolean) => void,
): () => void {
  const [file = '', ...args] = command;
  let finished = false;
  const finish = (ok: boolean) => {
    if (finished) return;
    finished = true;
    done(ok);
  };
  const child = spawn(file, args, {
    cwd: app.cwd,
    env: { ...target.env, CLUSTERD_INSTANCE_PID: String(target.pid) },
    stdio: 'ignore',
    timeout: interval,
    killSignal: 'SIGKILL',
    ...(app.runAs ? { uid: app.runAs.uid, gid: app.runAs.gid } : {}),
  });
  child.once('error', () => finish(false));
  child.once('exit', (code) => finish(code === 0));
  return () => {
    finished = true;
    child.kill('SIGKILL');
  };
}

/** Where the primary connects to reach a listen address: a wildcard is reached on loopback. */
export function probeHost(host: string | null): string {
  if (host === null || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** The inode of the accepted end of a connection, from /proc/net/tcp text: 0 while none accepted it. */
export function acceptedInode(table: string, serverPort: number, clientPort: number): number | null {
  for (const line of table.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const remote = fields[2];
    if (!local || !remote || fields.length < 10) continue;
    const localPort = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    const remotePort = Number.parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16);
    if (localPort === serverPort && remotePort === clientPort) return Number(fields[9]);
  }
  return null;
}

function readTable(name: string): string {
  try {
    return readFileSync(`/proc/net/${name}`, 'latin1');
  } catch {
    return '';
  }
}

/** Whether a process of group `group` holds socket `inode`. */
function groupHolds(sys: ProcSystem, group: number, inode: number): boolean {
  const wanted = `socket:[${inode}]`;
  for (const entry of sys.table() ?? []) {
    if (entry.pgid !== group || !isLive(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry.pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${entry.pid}/fd/${fd}`) === wanted) return true;
      } catch {
        // Closed in between.
      }
    }
  }
  return false;
}

function watchPort(listen: ResolvedListen, target: ReadinessTarget): () => void {
  // Several connections at once: each lands on any instance, so one of them soon reaches this one.
  const attempt = (done: (ok: boolean) => void) => {
    let open = PORT_PROBES;
    let finished = false;
    const cancels: (() => void)[] = [];
    const one = (ok: boolean) => {
      if (finished) return;
      open -= 1;
      if (!ok && open > 0) return;
      finished = true;
      for (const cancel of cancels) cancel();
      done(ok);
    };
    for (let i = 0; i < PORT_PROBES; i++) cancels.push(portProbe(listen, target, one));
    return () => {
      finished = true;
      for (const cancel of cancels) cancel();
    };
  };
  return repeat(attempt, PORT_PROBE_EVERY_MS, target.ready);
}

// One connection to the port: true once this instance's group holds its accepted end.
function portProbe(listen: ResolvedListen, target: ReadinessTarget, done: (ok: boolean) => void): () => void {
  let finished = false;
  let look: NodeJS.Timeout | null = null;
  const socket = net.connect({ host: probeHost(listen.host), port: listen.port });
  const finish = (ok: boolean) => {
    if (finished) return;
    finished = true;
    if (look) clearTimeout(look);
    socket.destroy();
    done(ok);
  };
  socket.once('error', () => finish(false));
  socket.once('close', () => finish(false));
  socket.once('connect', () => {
    const clientPort = socket.localPort;
    if (clientPort === undefined) return finish(false);
    let looks = 0;
    const check = () => {
      look = null;
      const inode =
        acceptedInode(readTable('tcp'), listen.port, clientPort) ??
        acceptedInode(readTable('tcp6'), listen.port, clientPort);
      // Accepted (an inode): by this instance, or by another one (closed, and tried again).
      if (inode) return finish(groupHolds(target.sys, target.pid, inode));
      if (++looks >= LOOKS) return finish(false);
      look = setTimeout(check, LOOK_EVERY_MS);
    };
    check();
  });
  return () => {
    finished = true;
    if (look) clearTimeout(look);
    socket.destroy();
  };
}
