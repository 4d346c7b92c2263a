// Where the CLI writes: the process's stdout and stderr, or a test's buffers. A module of its own so that
// the commands (commands/*) and main.ts, which loads them, do not import each other.
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** stdout is a terminal: `logs` escapes control characters there (terminal-text.ts). */
  terminal?: boolean;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  get terminal() {
    return process.stdout.isTTY === true;
  },
};
