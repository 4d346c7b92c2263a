// The notify transport: systemd's own `systemd-notify` binary, because Node.js cannot send to an AF_UNIX
// datagram socket. It runs without --no-block, so it waits (BARRIER=1) until the manager has read the
// message and is still alive when the manager looks at who sent it: the message is attributed to our
// unit by its cgroup, which needs NotifyAccess=all (the sender is systemd-notify, not our main pid).
// One child at a time, in order: two at once could deliver READY=1 before the RELOADING=1 it ends.
// Spawned with an argument vector, never through a shell. The choice is explained in docs/deploy.md.
import { spawn } from 'node:child_process';
import type { NotifyTransport } from './notify.js';

/** A systemd-notify that has not returned after this long is killed and the next message sent. */
const SEND_TIMEOUT_MS = 10_000;

export interface SystemdNotifyOptions {
  /** NOTIFY_SOCKET, given to each child (it is removed from our own environment). */
  socket: string;
  /** The binary (default: systemd-notify on PATH). */
  command?: string;
  /** A message could not be sent: said once per kind of failure, not at every watchdog tick. */
  failed(message: string): void;
}

export class SystemdNotifyTransport implements NotifyTransport {
  private readonly queue: string[][] = [];
  private busy = false;
  private readonly told = new Set<string>();
  private idle: (() => void)[] = [];

  constructor(private readonly options: SystemdNotifyOptions) {}

  send(fields: readonly string[]): void {
    // A watchdog ping already waiting says what another would.
    if (
      fields.length === 1 &&
      fields[0] === 'WATCHDOG=1' &&
      this.queue.some((q) => q.join() === 'WATCHDOG=1')
    )
      return;
    this.queue.push([...fields]);
    this.next();
  }

  /** Resolves once every message queued so far has been sent (or given up on). */
  drained(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private next(): void {
    if (this.busy) return;
    const fields = this.queue.shift();
    if (!fields) {
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    this.busy = true;
    const command = this.options.command ?? 'systemd-notify';
    let stderr = '';
    let finished = false;
    const done = (problem: string | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (problem) this.fail(problem);
      this.busy = false;
      this.next();
    };
    const child = spawn(command, fields, {
      env: { ...process.env, NOTIFY_SOCKET: this.options.socket },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(`${command} did not return within ${SEND_TIMEOUT_MS} ms`);
    }, SEND_TIMEOUT_MS);
    timer.unref();
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 1000) stderr += chunk;
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      done(
        error.code === 'ENOENT'
          ? `${command} was not found (install systemd's systemd-notify, or unset NOTIFY_SOCKET)`
          : `${command}: ${error.message}`,
      ),
    );
    child.on('close', (code, signal) =>
      done(
        code === 0
          ? null
          : `${command} ${fields[0]} failed (${signal ?? `exit code ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`,
      ),
    );
  }

  private fail(message: string): void {
    const kind = message.replace(/ (READY|RELOADING|STOPPING|WATCHDOG|STATUS)=\S*/, '');
    if (this.told.has(kind)) return;
    this.told.add(kind);
    this.options.failed(message);
  }
}
