// clusterd/worker's leader helpers where there is no primary to ask: a process alone leads at once; an
// instance of a `command` program under clusterd (CLUSTERD_APP set, no node:cluster channel) never does.
import { fork, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import messages from '../../src/worker/messages.cjs';
import { REPO_ROOT, tempDir } from '../helpers/files.js';

const WORKER = join(REPO_ROOT, 'dist/worker/index.js');

function run(env: NodeJS.ProcessEnv) {
  const script = `
    import { isLeader, onLeadership } from ${JSON.stringify(WORKER)};
    const seen = [isLeader()];
    onLeadership(() => seen.push('start', isLeader()), () => seen.push('stop'));
    seen.push(isLeader());
    setTimeout(() => console.log(JSON.stringify(seen)), 50);
  `;
  // Not a node:cluster worker; CLUSTERD_APP as given (undefined: left out).
  const env2 = { ...process.env, NODE_UNIQUE_ID: undefined, ...env };
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: env2,
    encoding: 'utf8',
  });
  return { seen: JSON.parse(result.stdout) as unknown[], stderr: result.stderr };
}

describe('onLeadership without a primary', () => {
  it('leads at once when the process is alone (start on the next microtask, stop never)', () => {
    expect(run({ CLUSTERD_APP: undefined }).seen).toEqual([false, false, 'start', true]);
  });

  it('never leads as a program instance under clusterd, and says so once', () => {
    const { seen, stderr } = run({ CLUSTERD_APP: 'jobs' });
    expect(seen).toEqual([false, false]);
    expect(stderr).toMatch(/onLeadership needs a node:cluster worker/);
  });
});

describe('onLeadership under a primary', () => {
  it('runs stop only after a start still running at the revoke has settled, and then answers', async () => {
    // The test plays the primary: the child is a node:cluster worker (NODE_UNIQUE_ID) of an app.
    const script = join(tempDir(), 'leader.mjs');
    writeFileSync(
      script,
      `import { onLeadership } from ${JSON.stringify(WORKER)};
      const log = (what) => process.send({ log: what });
      onLeadership(
        async () => { log('start-begin'); await new Promise((r) => setTimeout(r, 200)); log('start-end'); },
        () => log('stop'),
      );`,
    );
    const child = fork(script, [], {
      env: { ...process.env, NODE_UNIQUE_ID: '1', CLUSTERD_APP: 'jobs' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const seen: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', () => reject(new Error(`the worker exited: ${seen.join(', ')}`)));
        child.on('message', (message: unknown) => {
          if (messages.isLeaderWant(message)) child.send(messages.leaderGrant(1));
          else if (messages.isLeaderStopped(message)) {
            seen.push('stopped');
            resolve();
          } else {
            const { log } = message as { log: string };
            seen.push(log);
            // Revoked while its async start is half-way.
            if (log === 'start-begin') child.send(messages.leaderRevoke(1));
          }
        });
      });
    } finally {
      child.kill('SIGKILL');
    }
    expect(seen).toEqual(['start-begin', 'start-end', 'stop', 'stopped']);
  });
});
