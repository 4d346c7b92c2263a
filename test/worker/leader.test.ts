// clusterd/worker's leader helpers where there is no primary to ask: a process alone leads at once; an
// instance of a `command` program under clusterd (CLUSTERD_APP set, no node:cluster channel) never does.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/files.js';

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
