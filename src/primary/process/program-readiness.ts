// When a program's instance counts as ready (`readiness` of an app with `command`):
// - `loaded`: it has run `readySettle` without exiting;
// - `port`: a connection to its `listen` port was accepted by the instance itself. The socket is shared
//   by every instance (and the kernel accepts connections on it before any of them does), so a
//   connection that merely succeeds proves nothing: the primary connects, finds the accepted end in
//   /proc/net/tcp{,6} by the two ports, and looks for its inode among the file descriptors of the
//   instance and its descendants (gunicorn's workers). A probe another instance took is closed
//   unanswered, and tried again;
// - a probe: `{ http }` answered 2xx, or `{ command }` exiting 0, tried every `interval` (each attempt
//   bounded by it too).
// Each returns how to stop watching (the instance exited, or is being stopped).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import type { ResolvedApp, ResolvedListen } from '../../config/resolved.js';

/**
 * How often the instance's own sockets are looked at during a round, and how many times, before the
 * round's probes are closed: a probe an old instance accepted occupies it until it is closed, and a
 * single-threaded server (Python's http.server, a gunicorn sync worker) serves nobody else until then.
 */
const LOOK_EVERY_MS = 10;
const LOOKS = 3;
/** Time between two `port` probes, and the connections each makes. */
const PORT_PROBE_EVERY_MS = 100;
const PORT_PROBES = 4;
/** How long a probe's connect may take before its round gives up on it. */
const CONNECT_MS = 500;

export interface ReadinessTarget {
  pid: number;
  slot: number;
  env: Readonly<Record<string, string>>;
  /** The listening socket's inode (every instance holds it): not a sign that the instance accepted. */
  listenInode: number | null;
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

// Runs `attempt` every `interval` ms (never two at once) until one succeeds; with `rest`, the next one
// waits at least as long as the last one took (a `port` round holds probes an old instance may wait on).
function repeat(
  attempt: (done: (ok: boolean) => void) => () => void,
  interval: number,
  ready: () => void,
  rest = false,
) {
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
      const took = Date.now() - started;
      timer = setTimeout(run, Math.max(0, interval - took, rest ? took : 0));
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
  let timer: NodeJS.Timeout | null = null;
  let child: ReturnType<typeof spawn> | null = null;
  // Its own process group, killed whole: a `sh -c` probe's hung child does not outlive its attempt.
  const killGroup = () => {
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Ended in between.
    }
  };
  const finish = (ok: boolean) => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    killGroup();
    done(ok);
  };
  try {
    child = spawn(file, args, {
      cwd: app.cwd,
      env: { ...target.env, CLUSTERD_INSTANCE_PID: String(target.pid) },
      stdio: 'ignore',
      detached: true,
      ...(app.runAs ? { uid: app.runAs.uid, gid: app.runAs.gid } : {}),
    });
  } catch {
    // Not even started (a bad uid, no such file): this attempt failed, the next may not.
    setImmediate(() => finish(false));
    return () => {
      finished = true;
    };
  }
  child.once('error', () => finish(false));
  child.once('exit', (code) => finish(code === 0));
  timer = setTimeout(() => finish(false), interval);
  return () => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    killGroup();
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
  // One search over the text (a host with many sockets has a table of megabytes: no split into lines).
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  const ends = new RegExp(`^ *\\d+: [0-9A-F]+:${hex(serverPort)} [0-9A-F]+:${hex(clientPort)} (.*)$`, 'm');
  const rest = ends.exec(table)?.[1];
  if (rest === undefined) return null;
  // After the two addresses: st, tx:rx, tr:when, retrnsmt, uid, timeout, inode.
  const inode = Number(rest.trim().split(/\s+/)[6]);
  return Number.isSafeInteger(inode) ? inode : null;
}

/** The instance and its descendants, from /proc/<pid>/task/<pid>/children (no walk of all of /proc). */
function familyOf(pid: number): number[] {
  const family = [pid];
  for (let i = 0; i < family.length && family.length < 4096; i++) {
    let children: string;
    try {
      children = readFileSync(`/proc/${family[i]}/task/${family[i]}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const child of children.split(' ')) if (child.trim()) family.push(Number(child));
  }
  return family;
}

const SOCKET = /^socket:\[(\d+)\]$/;

/** The socket inodes the instance and its descendants hold. */
function socketsHeld(pid: number): Set<number> {
  const held = new Set<number>();
  for (const member of familyOf(pid)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${member}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const inode = SOCKET.exec(readlinkSync(`/proc/${member}/fd/${fd}`))?.[1];
        if (inode) held.add(Number(inode));
      } catch {
        // Closed in between.
      }
    }
  }
  return held;
}

/** The inode of a socket this process holds as file descriptor `fd`, or null. */
export function ownSocketInode(fd: number): number | null {
  try {
    const inode = SOCKET.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    return inode ? Number(inode) : null;
  } catch {
    return null;
  }
}

// /proc/net/tcp{,6}: the kernel writes it anew for each read, about a page at a time whatever size is
// asked for, so its cost is the kernel's; '' where it cannot be read.
const readTable = (name: string) => readFile(`/proc/net/${name}`, 'latin1').catch(() => '');

// A round of `port` probes: PORT_PROBES connections at once (each lands on any instance, so one soon
// reaches this one), then up to LOOKS looks, LOOK_EVERY_MS apart, at whether this instance accepted
// one. A look costs a read of its own file descriptors; only once it holds a socket it did not hold at
// its start is the socket table of the whole system read, once, and the round ends with it: the time
// that read takes (it grows with every socket of the host, TIME_WAIT ones included) is as long as an
// old instance may wait on a probe it took.
// Sockets the instance held from its start are no sign either: the listening one, and its standard
// streams (libuv makes them socket pairs).
function watchPort(listen: ResolvedListen, target: ReadinessTarget): () => void {
  const before = socketsHeld(target.pid);
  if (target.listenInode !== null) before.add(target.listenInode);
  const attempt = (done: (ok: boolean) => void) => {
    let finished = false;
    let look: NodeJS.Timeout | null = null;
    const sockets: net.Socket[] = [];
    /** Each probe's local port. */
    const ports = new Set<number>();
    const finish = (ok: boolean) => {
      if (finished) return;
      finished = true;
      if (look) clearTimeout(look);
      for (const socket of sockets) socket.destroy();
      done(ok);
    };
    let pending = PORT_PROBES;
    const connected = () => {
      if (--pending === 0) check(0);
    };
    for (let i = 0; i < PORT_PROBES; i++) {
      const socket = net.connect({ host: probeHost(listen.host), port: listen.port });
      sockets.push(socket);
      // A full accept queue leaves a connect waiting on SYN retries for minutes: this round gives up.
      let settled = false;
      const timeout = setTimeout(() => socket.destroy(), CONNECT_MS);
      socket.once('close', () => {
        clearTimeout(timeout);
        if (settled) return;
        settled = true;
        connected();
      });
      socket.once('connect', () => {
        clearTimeout(timeout);
        settled = true;
        if (socket.localPort !== undefined) ports.add(socket.localPort);
        connected();
      });
      socket.once('error', () => {});
    }
    const check = (looks: number) => {
      look = null;
      if (finished) return;
      if (ports.size === 0) return finish(false);
      const held = socketsHeld(target.pid);
      for (const inode of before) held.delete(inode);
      if (held.size === 0) {
        if (looks + 1 >= LOOKS) return finish(false);
        look = setTimeout(() => check(looks + 1), LOOK_EVERY_MS);
        return;
      }
      // IPv4 first (a dual-stack socket shows IPv4 connections in tcp6: read only when needed).
      const tables = new Map<string, Promise<string>>();
      const table = (name: string) => {
        const read = tables.get(name) ?? readTable(name);
        tables.set(name, read);
        return read;
      };
      const lookup = async (port: number) =>
        acceptedInode(await table('tcp'), listen.port, port) ??
        acceptedInode(await table('tcp6'), listen.port, port);
      // Not found in its hands: the probes are closed (those other instances took, and those still
      // queued, which it may take next round) and a new round starts.
      void Promise.all([...ports].map(lookup)).then((inodes) => {
        finish(inodes.some((inode) => inode !== null && held.has(inode)));
      });
    };
    return () => {
      finished = true;
      if (look) clearTimeout(look);
      for (const socket of sockets) socket.destroy();
    };
  };
  return repeat(attempt, PORT_PROBE_EVERY_MS, target.ready, true);
}
