// A real AF_UNIX SOCK_DGRAM socket standing in for systemd's NOTIFY_SOCKET. Node.js cannot bind one, so a
// small python3 program does (test/fixtures/notify-listener.py); a machine without python3 fails the
// test with that said, never skips it (.ci/run installs it).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { tempDir } from './files.js';
import { isAlive } from './processes.js';
import { FIXTURES } from './root.js';
import { Waiters } from './waiters.js';

export interface Notification {
  fields: string[];
  /** The sender's pid (SCM_CREDENTIALS). */
  pid: number | null;
  /** CLOCK_MONOTONIC in µs when the listener read it. */
  monotonicUsec: number;
}

const listeners = new Set<NotifyListener>();

afterEach(async () => {
  const left: number[] = [];
  for (const listener of listeners) {
    await listener.close();
    if (listener.pid !== undefined && isAlive(listener.pid)) left.push(listener.pid);
  }
  listeners.clear();
  expect(left, 'notify listeners left behind').toEqual([]);
});

/** Fails loudly when a tool a test needs is missing. */
export function requireTool(command: string, args: string[] = ['--version']): void {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  if (result.error || result.status !== 0)
    throw new Error(
      `${command} is needed by this test and was not found or does not run (${result.error?.message ?? `exit ${result.status}`}); .ci/run installs it with apt-get`,
    );
}

export class NotifyListener {
  readonly messages: Notification[] = [];
  private readonly waiters = new Waiters();
  private exited = false;
  private readonly exit: Promise<void>;

  private constructor(
    readonly path: string,
    private readonly child: ChildProcess,
  ) {
    this.exit = new Promise((resolve) =>
      child.on('exit', () => {
        this.exited = true;
        this.notify();
        resolve();
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts a listener on a socket in a fresh directory; resolves once it is bound. */
  static async start(): Promise<NotifyListener> {
    requireTool('python3');
    const path = join(tempDir(), 'notify.sock');
    const child = spawn('python3', [join(FIXTURES, 'notify-listener.py'), path], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const listener = new NotifyListener(path, child);
    listeners.add(listener);
    let bound: () => void = () => {};
    const listening = new Promise<void>((resolve) => {
      bound = resolve;
    });
    let pending = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const parsed = JSON.parse(line) as Notification | { listening: string };
        if ('listening' in parsed) bound();
        else listener.messages.push(parsed);
      }
      listener.notify();
    });
    await Promise.race([
      listening,
      listener.exit.then(() => {
        throw new Error('the notify listener exited before it was listening');
      }),
    ]);
    return listener;
  }

  private notify(): void {
    this.waiters.notify();
  }

  /** The messages other than systemd-notify's BARRIER=1 (its wait for the manager). */
  get notifications(): Notification[] {
    return this.messages.filter((m) => !(m.fields.length === 1 && m.fields[0] === 'BARRIER=1'));
  }

  /** Resolves with the first notification from index `from` on that has `field` (exactly, or as KEY=). */
  waitFor(field: string, { from = 0, timeoutMs = 15_000 } = {}): Promise<Notification> {
    const matches = (m: Notification) =>
      m.fields.some((f) => (field.endsWith('=') ? f.startsWith(field) : f === field));
    return this.waiters.until(
      () => this.notifications.slice(from).find(matches),
      () => (this.exited ? `the notify listener exited before ${field}` : null),
      () => `timed out waiting for ${field}; got ${JSON.stringify(this.notifications.map((m) => m.fields))}`,
      timeoutMs,
    );
  }

  /** Resolves with the `count`-th notification that has `field`. */
  waitForCount(field: string, count: number, timeoutMs = 15_000): Promise<Notification> {
    return this.waiters.until(
      () => this.notifications.filter((m) => m.fields.includes(field))[count - 1],
      () => (this.exited ? `the notify listener exited before ${field}` : null),
      () => `timed out waiting for ${count} ${field}, got ${this.count(field)}`,
      timeoutMs,
    );
  }

  /** How many notifications have `field` so far. */
  count(field: string): number {
    return this.notifications.filter((m) => m.fields.includes(field)).length;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.child.stdin?.end();
    await Promise.race([this.exit, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    if (!this.exited) this.child.kill('SIGKILL');
    await this.exit;
  }
}
