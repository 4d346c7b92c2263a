// One instance of a program that is not Node.js (`command`): a plain child process of the primary, in a
// process group of its own, so that a stop reaches everything it started (a shell script's children).
// With `listen`, the primary's listening socket is its file descriptor 3, by systemd's socket activation
// protocol (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES). Its readiness is decided here (readiness.ts), its
// output goes to the primary's sinks, tagged with the app and slot, as a Node.js worker's does.
import { type ChildProcess, spawn } from 'node:child_process';
import type { ResolvedApp } from '../../config/resolved.js';
import type { LogFormat } from '../../protocol.js';
import { readRss } from '../guards/proc-sample.js';
import type { ThreadSample, WorkerEvents, WorkerProcess } from '../pool/tracked-worker.js';
import { groupMembers } from '../stop/descendants.js';
import type { ProcessTrees, ProcSystem } from '../stop/descendants-proc.js';
import { accessProblem } from './access.js';
import { envFileVars, workerEnv } from './env.js';
import { type AppFiles, crashLine, forwardLines, type Sink } from './output.js';
import { ownSocketInode, watchReadiness } from './program-readiness.js';
import { resolveRelease } from './release.js';

/** How long an exited instance's output may take to drain before its exit is handled anyway. */
const OUTPUT_GRACE_MS = 1_000;

// With a listen socket, LISTEN_PID must be the program's own pid, which exists only once it runs: a
// fixed shell script sets it and execs the program in place (the pid stays). No value of the config is
// ever part of the script: the program and its arguments are the script's positional parameters.
const SET_LISTEN_PID = 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"';
const SH = '/bin/sh';

/** Variables of socket activation: never passed on from the supervisor's own environment. */
const ACTIVATION_VARS = [
  'LISTEN_FDS',
  'LISTEN_PID',
  'LISTEN_FDNAMES',
  'NOTIFY_SOCKET',
  'WATCHDOG_PID',
  'WATCHDOG_USEC',
];

/** The program instances alive in this primary, by pid: killed with their groups if the primary fails. */
const live = new Set<number>();

/** SIGKILL to every program instance's process group (the primary's last resort). */
export function killPrograms(): void {
  for (const pid of live) signalGroup(pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export interface ProgramOptions {
  baseEnv: Readonly<NodeJS.ProcessEnv>;
  logFormat: LogFormat;
  sinks: { stdout: Sink; stderr: Sink };
  files?: AppFiles | undefined;
  trees?: ProcessTrees | undefined;
  sys: ProcSystem;
  /** The listening socket of an app with `listen`, held open for the instance until its release. */
  listen?: (app: ResolvedApp) => { fd: number | null; release: () => void };
}

export class ProgramProcess implements WorkerProcess {
  readonly child: ChildProcess;
  readonly script: string;
  private readonly cwd: string;
  private tail: () => string[] = () => [];
  private exited = false;
  private killTimer: NodeJS.Timeout | null = null;
  private stopReadiness: () => void = () => {};

  constructor(
    slot: number,
    private readonly app: ResolvedApp,
    private readonly options: ProgramOptions,
    private readonly events: WorkerEvents,
  ) {
    const program = app.program;
    if (!program) throw new Error(`app ${app.name} is not a program`);
    // Read before anything else: a file gone or unreadable since the load is a failed start of the slot.
    const fileVars = envFileVars(app);
    const release = resolveRelease(app);
    this.script = program.file;
    this.cwd = release.cwd;
    const env = workerEnv(options.baseEnv, app, slot, fileVars);
    for (const key of ACTIVATION_VARS) delete env[key];
    const stdio: (number | 'ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe'];
    let file = program.file;
    let args = [...app.args];
    let argv0 = program.command[0];
    const socket = program.listen ? options.listen?.(app) : undefined;
    const fd = socket?.fd ?? null;
    if (program.listen) {
      if (fd === null) {
        socket?.release();
        throw new Error(`no listening socket for ${program.listen.port}`);
      }
      stdio.push(fd);
      env.LISTEN_FDS = '1';
      env.LISTEN_FDNAMES = program.listen.name;
      args = ['-c', SET_LISTEN_PID, program.file, ...app.args];
      file = SH;
      argv0 = SH;
    }
    const releaseSocket = socket?.release ?? (() => {});
    // A probe's environment is the instance's, without the socket it does not have.
    const probeEnv = { ...env };
    for (const key of ACTIVATION_VARS) delete probeEnv[key];
    try {
      this.child = spawn(file, args, {
        argv0,
        cwd: release.cwd,
        env,
        stdio,
        // Its own process group: a stop signals everything it started, and a terminal's Ctrl-C does not.
        detached: true,
        ...(app.runAs ? { uid: app.runAs.uid, gid: app.runAs.gid } : {}),
      });
    } catch (error) {
      releaseSocket();
      throw error;
    }
    const child = this.child;
    const base = { app: app.name, worker: slot, pid: child.pid ?? 0, format: options.logFormat };
    const files = options.files;
    const output = (stream: 'stdout' | 'stderr') => (files ? () => files.output(stream) : undefined);
    if (child.stdout)
      forwardLines(child.stdout, {
        ...base,
        stream: 'stdout',
        sink: options.sinks.stdout,
        file: output('stdout'),
      });
    if (child.stderr)
      this.tail = forwardLines(child.stderr, {
        ...base,
        stream: 'stderr',
        sink: options.sinks.stderr,
        file: output('stderr'),
      }).tail;
    child.once('error', (error: NodeJS.ErrnoException) => {
      // Never started (spawn failed): no 'exit' follows.
      if (child.pid !== undefined) return;
      releaseSocket();
      setImmediate(() =>
        this.exit({
          code: null,
          signal: null,
          failure: `could not start: ${this.accessProblem() ?? error.message}`,
        }),
      );
    });
    // Its exit is handled before anything else can go wrong with it (its readiness below).
    child.once('exit', (code, signal) => {
      this.stopReadiness();
      releaseSocket();
      if (child.pid !== undefined) live.delete(child.pid);
      if (this.killTimer) clearTimeout(this.killTimer);
      this.killTimer = null;
      // What it started and left in its group ends too: the stop signal, SIGKILL after the timeout.
      this.sweepGroup();
      const late = setTimeout(() => this.exitWithOutput(code, signal), OUTPUT_GRACE_MS);
      child.once('close', () => {
        clearTimeout(late);
        this.exitWithOutput(code, signal);
      });
    });
    if (child.pid !== undefined) {
      live.add(child.pid);
      // (A probe that cannot even be started never succeeds: readyTimeout then fails the start.)
      this.stopReadiness = watchReadiness(app, {
        pid: child.pid,
        slot,
        env: probeEnv,
        listenInode: fd === null ? null : ownSocketInode(fd),
        ready: () => {
          if (!this.exited) events.ready();
        },
      });
    }
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  private sweepGroup(): void {
    const { pid } = this.child;
    const { trees, sys } = this.options;
    if (pid === undefined || !trees) return;
    const members = groupMembers(sys.table() ?? [], pid);
    if (members.length)
      trees.stop(members, this.app.shutdown.signal as NodeJS.Signals, this.app.shutdown.timeout);
  }

  private exitWithOutput(code: number | null, signal: NodeJS.Signals | null): void {
    const clean = code === 0 && signal === null;
    // What it printed last first: a binary may be executable without being readable by its user.
    let detail = clean ? undefined : (crashLine(this.tail()) ?? this.accessProblem());
    // The shell's (or the program's own) "not found": the command vanished since the config loaded.
    if (!clean && code === 127 && !detail) detail = `exit status 127: ${this.script} could not be run`;
    this.exit({ code, signal, ...(detail ? { detail } : {}) });
  }

  private accessProblem(): string | null {
    const { runAs } = this.app;
    return runAs ? accessProblem({ script: this.script, cwd: this.cwd }, runAs) : null;
  }

  private exit(exit: Parameters<WorkerEvents['exit']>[0]): void {
    if (this.exited) return;
    this.exited = true;
    this.events.exit(exit);
  }

  drain(): void {
    const { pid, exitCode, signalCode } = this.child;
    if (pid === undefined || exitCode !== null || signalCode !== null || this.killTimer) return;
    this.stopReadiness();
    const { signal, timeout, spread } = this.app.shutdown;
    // A program has no drain of its own: the stop signal is its cue to finish what it serves and exit.
    signalGroup(pid, signal as NodeJS.Signals);
    this.killTimer = setTimeout(() => {
      this.killTimer = null;
      signalGroup(pid, 'SIGKILL');
    }, spread + timeout);
  }

  kill(): void {
    const { pid, exitCode, signalCode } = this.child;
    if (pid === undefined || exitCode !== null || signalCode !== null) return;
    signalGroup(pid, 'SIGKILL');
  }

  /** The resident memory of its whole process group: a shell wrapper holds little itself. */
  rss(): number | null {
    const pid = this.child.pid;
    if (pid === undefined) return null;
    const table = this.options.sys.table();
    if (!table) return readRss(pid);
    let total = 0;
    let any = false;
    for (const member of [pid, ...groupMembers(table, pid).map((e) => e.pid)]) {
      const rss = readRss(member);
      if (rss === null) continue;
      total += rss;
      any = true;
    }
    return any ? total : null;
  }

  /** A program answers no heartbeat (the config refuses the heartbeat guard for programs). */
  beat(): boolean {
    return false;
  }

  mainThread(): ThreadSample | null {
    return null;
  }
}
