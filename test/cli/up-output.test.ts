// What `clusterd up` prints, from the root's answer: pure.
import { describe, expect, it } from 'vitest';
import { describeUpApp, formatUp } from '../../src/cli/commands/up.js';
import type { UpApp, UpReport } from '../../src/control/protocol.js';

const app = (fields: Partial<UpApp>): UpApp => ({
  app: 'web',
  change: null,
  action: null,
  replaced: 0,
  ok: true,
  ...fields,
});

describe('up output', () => {
  it('says what the change did and what up did then, app by app', () => {
    expect(describeUpApp(app({ action: 'reloaded', replaced: 2 }))).toBe('web: reloaded, 2 workers replaced');
    expect(describeUpApp(app({ change: 'added', instances: { from: 0, to: 1 } }))).toBe(
      'web: added, 1 worker',
    );
    expect(describeUpApp(app({ change: 'removed' }))).toBe('web: removed');
    expect(
      describeUpApp(
        app({ change: 'scaled', instances: { from: 2, to: 4 }, action: 'reloaded', replaced: 4 }),
      ),
    ).toBe('web: scaled 2 -> 4 workers, reloaded, 4 workers replaced');
    expect(
      describeUpApp(
        app({ change: 'rolled', changed: ['env', 'instances'], instances: { from: 1, to: 2 }, replaced: 1 }),
      ),
    ).toBe('web: rolled (env, instances), 1 -> 2 workers, 1 worker replaced');
    expect(describeUpApp(app({ change: 'restarted', changed: ['balancing'] }))).toBe(
      'web: restarted (balancing)',
    );
    expect(describeUpApp(app({ action: 'started' }))).toBe('web: started (it was stopped)');
  });

  it('says what failed, and whether the old workers keep serving', () => {
    const reason = 'worker 0 did not get ready: exit code 1: Error: boom';
    expect(describeUpApp(app({ action: 'reloaded', ok: false, reason, serving: true }))).toBe(
      `web: reload failed: ${reason}; rolled back: the old workers keep serving`,
    );
    expect(
      describeUpApp(app({ change: 'restarted', changed: ['balancing'], ok: false, reason, serving: false })),
    ).toBe(`web: restart failed: ${reason}; it is not serving (see clusterd status and clusterd logs)`);
  });

  it('prints the ready apps on stdout and the failures on stderr, escaped', () => {
    const report: UpReport = {
      pid: 7,
      config: '/srv/app/cluster.config.json',
      environment: null,
      ok: false,
      ms: 1200,
      apps: [
        app({ app: 'api', action: 'reloaded', replaced: 1 }),
        app({ action: 'reloaded', ok: false, reason: 'boom\u001b[2J', serving: true }),
      ],
    };
    expect(formatUp(report)).toEqual({
      out: 'api: reloaded, 1 worker replaced\n',
      err: 'clusterd: web: reload failed: boom\\x1b[2J; rolled back: the old workers keep serving\nclusterd: up failed for 1 app\n',
    });
    expect(formatUp({ ...report, ok: true, apps: [report.apps[0] as UpApp] }).out).toBe(
      'api: reloaded, 1 worker replaced\nclusterd 7, /srv/app/cluster.config.json: every app ready in 1.2s\n',
    );
  });
});
