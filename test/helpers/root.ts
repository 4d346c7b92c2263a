// Runs a real `clusterd start` in a temp directory and reads its JSON log as events, so tests can wait
// for what the supervisor says (a worker ready, an app errored) instead of sleeping.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { BIN } from './cli.js';
import { REPO_ROOT, tempDir, writeFiles } from './files.js';
import { taggedProcesses, until } from './processes.js';
import { Waiters } from './waiters.js';

export const FIXTURES = join(REPO_ROOT, 'test/fixtures');

export type LogEvent = Record<string, unknown> & { msg: string; level: number; time: number };
type Predicate = (e: LogEvent) => boolean;

const running = new Set<Root>();

afterEach(async () => {
  const roots = [...running];
  running.clear();
  const leaks: string[] = [];
  for (const root of roots) {
    if (root.exited === null) root.child.kill('SIGKILL');
    // Everything the test started must be gone soon after its root is (SIGKILL'd roots: within a second).
    try {
      await until(() => taggedProcesses(root.tag).length === 0, 'processes to exit', 3_000);
    } catch {
      const left = taggedProcesses(root.tag);
      leaks.push(...left.map(String));
      for (const pid of left) process.kill(pid, 'SIGKILL');
    }
  }
  expect(leaks, 'processes left behind').toEqual([]);
});

export class Root {
  readonly events: LogEvent[] = [];
  /** The environment the root runs with (a private runtime dir for its control socket); CLI calls reuse it. */
  env: NodeJS.ProcessEnv = {};
  readonly output: string[] = [];
  exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly waiters = new Waiters();
  private readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly child: ChildProcess,
    readonly tag: string,
    readonly dir: string,
  ) {
    let pending = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.take(line);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) this.take(line);
    });
    this.exit = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        this.notify();
        resolve(this.exited);
      });
    });
  }

  private take(line: string): void {
    this.output.push(line);
    try {
      const event = JSON.parse(line) as LogEvent;
      if (typeof event === 'object' && event !== null && 'msg' in event) this.events.push(event);
    } catch {
      // Not JSON: kept in `output` only.
    }
    this.notify();
  }

  private notify(): void {
    this.waiters.notify();
  }

  /**
   * Resolves with the first event (from `from` on) that matches; rejects after `timeoutMs`. Each event
   * is tested once, as it arrives, so waiting stays cheap over thousands of events.
   */
  waitFor(predicate: Predicate, what: string, { timeoutMs = 15_000, from = 0 } = {}): Promise<LogEvent> {
    let next = from;
    return this.waiters.until(
      () => {
        for (; next < this.events.length; next++) {
          const event = this.events[next] as LogEvent;
          if (predicate(event)) return event;
        }
        return undefined;
      },
      () =>
        this.exited ? `root exited (${JSON.stringify(this.exited)}) before ${what}\n${this.tail()}` : null,
      () => `timed out waiting for ${what}\n${this.tail()}`,
      timeoutMs,
    );
  }

  /** Waits until `count` events match; resolves with all of them. */
  async waitForCount(
    predicate: Predicate,
    count: number,
    what: string,
    timeoutMs = 15_000,
  ): Promise<LogEvent[]> {
    const matched: LogEvent[] = [];
    await this.waitFor(
      (e) => {
        if (predicate(e)) matched.push(e);
        return matched.length >= count;
      },
      what,
      { timeoutMs },
    );
    return matched;
  }

  /** The address the app's workers listen on, from its first ready event. */
  async address(app: string): Promise<string> {
    const ready = await this.waitFor((e) => e.app === app && e.to === 'ready', `${app} ready`);
    return String(ready.address);
  }

  /** Resolves when every worker of `app` is ready and the app is running. */
  running(app: string, from = 0): Promise<LogEvent> {
    return this.waitFor((e) => e.app === app && e.to === 'running', `${app} running`, { from });
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  waitForExit(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return Promise.race([
      this.exit,
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`root did not exit within ${timeoutMs} ms\n${this.tail()}`)),
          timeoutMs,
        ).unref(),
      ),
    ]);
  }

  tail(lines = 30): string {
    return this.output.slice(-lines).join('\n');
  }
}

/** Writes `config` (apps' scripts may name files in test/fixtures) and starts `clusterd start` on it. */
export function startRoot(
  config: object,
  options: {
    files?: Record<string, string>;
    args?: string[];
    env?: Record<string, string>;
    /** A command that runs the root (`['unshare', '--pid', '--fork']`): node and its arguments follow. */
    wrap?: string[];
    /** Another name for the config file than cluster.config.json: it is passed to `start`. */
    configName?: string;
    /** The directory to run in (default: a new temp directory). */
    dir?: string;
  } = {},
): Root {
  const name = options.configName ?? 'cluster.config.json';
  const dir = writeFiles(options.dir ?? tempDir(), {
    [name]: JSON.stringify(config, null, 2),
    ...options.files,
  });
  const tag = randomUUID();
  const env = { ...testEnv(tag), ...options.env };
  const named = options.configName ? [name] : [];
  const args = [BIN, 'start', ...named, '--log-format', 'json', ...(options.args ?? [])];
  const [command, ...prefix] = options.wrap ?? [process.execPath];
  const argv = options.wrap ? [...prefix, process.execPath, ...args] : args;
  const child = spawn(command as string, argv, {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const root = new Root(child, tag, dir);
  root.env = env;
  running.add(root);
  return root;
}

/**
 * The environment of a test's clusterd: its tag, and private runtime and state directories. The socket
 * goes in `$XDG_RUNTIME_DIR/clusterd` as for a user, named by RUNTIME_DIRECTORY (first in the order), so
 * that tests running as root never share /run/clusterd.
 */
export function testEnv(tag: string = randomUUID()): NodeJS.ProcessEnv {
  const runtime = tempDir();
  return {
    ...process.env,
    CLUSTERD_TEST_TAG: tag,
    XDG_RUNTIME_DIR: runtime,
    RUNTIME_DIRECTORY: join(runtime, 'clusterd'),
    XDG_STATE_HOME: tempDir(),
  };
}

/** An app entry running a fixture. */
export function fixtureApp(name: string, script: string, extra: Record<string, unknown> = {}) {
  return { name, script: join(FIXTURES, script), ...extra };
}
