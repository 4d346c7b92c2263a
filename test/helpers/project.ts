// A project directory with a config of these apps and its own clusterd environment (a fresh tag), for
// tests that run the CLI themselves rather than through startRoot; and the check that nothing of it
// is left once they are done.
import { tempDir, writeFiles } from './files.js';
import { taggedProcesses, until } from './processes.js';
import { testEnv } from './root.js';

export function project(apps: object[]) {
  const dir = writeFiles(tempDir(), { 'cluster.config.json': JSON.stringify({ apps }) });
  const env = testEnv();
  return { dir, env, tag: String(env.CLUSTERD_TEST_TAG) };
}

/** Waits for every process of `tag` to exit; SIGKILLs those that have not (the test then fails). */
export async function noneLeft(tag: string): Promise<void> {
  try {
    await until(() => taggedProcesses(tag).length === 0, 'every process to exit', 5_000);
  } finally {
    for (const pid of taggedProcesses(tag)) process.kill(pid, 'SIGKILL');
  }
}
