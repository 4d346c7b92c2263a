// A real terminal for full-screen programs: a private tmux server (its own socket, so nothing of the
// user's is touched) running one command in a window of a given size, its screen read with
// capture-pane and keys typed with send-keys. tmux is from Debian (`.ci/run` installs it when missing).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './processes.js';

export class Tmux {
  private constructor(
    private readonly socket: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * Starts `argv` (run directly, no shell) in a `columns` x `rows` window; the pane stays after the
   * program exits, so its exit status can be read.
   */
  static start(
    dir: string,
    argv: string[],
    { columns, rows, env }: { columns: number; rows: number; env: NodeJS.ProcessEnv },
  ): Tmux {
    const config = join(dir, 'tmux.conf');
    writeFileSync(
      config,
      'set -g remain-on-exit on\nset -g status off\nset -g default-terminal "xterm-256color"\n',
    );
    const socket = `clusterd-test-${process.pid}-${Date.now()}`;
    const tmux = new Tmux(socket, env);
    const vars = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : ['-e', `${k}=${v}`]));
    tmux.run([
      '-f',
      config,
      'new-session',
      '-d',
      '-s',
      't',
      '-x',
      String(columns),
      '-y',
      String(rows),
      '-c',
      dir,
      ...vars,
      ...argv,
    ]);
    return tmux;
  }

  run(args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', env: this.env });
  }

  /** The screen as text, one string per line (`escapes`: with its colors and reverse video). */
  screen(escapes = false): string[] {
    return this.run(['capture-pane', '-p', '-t', 't', ...(escapes ? ['-e'] : [])]).split('\n');
  }

  /** Waits until the screen satisfies `check`; the last screen is in the error if it never does. */
  async waitFor(check: (screen: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> {
    let last = '';
    try {
      await until(
        () => {
          last = this.screen().join('\n');
          return check(last);
        },
        what,
        timeoutMs,
        100,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\nscreen:\n${last}`);
    }
    return last;
  }

  keys(...keys: string[]): void {
    this.run(['send-keys', '-t', 't', ...keys]);
  }

  resize(columns: number, rows: number): void {
    this.run(['resize-window', '-t', 't', '-x', String(columns), '-y', String(rows)]);
  }

  /** `#{...}` formats of the pane: pane_dead, pane_dead_status, alternate_on, cursor_flag... */
  format(name: string): string {
    return this.run(['display-message', '-p', '-t', 't', `#{${name}}`]).trim();
  }

  kill(): void {
    try {
      this.run(['kill-server']);
    } catch {
      // Already gone.
    }
  }
}
