import { describe, expect, it } from 'vitest';
import type { ResolvedApp } from '../../src/config/resolved.js';
import { diffApps } from '../../src/supervisor/config-diff.js';

const base = {
  script: '/srv/app.js',
  args: [],
  nodeArgs: [],
  cwd: '/srv',
  instances: 2,
  env: { A: '1' },
} as unknown as ResolvedApp;
const app = (name: string, extra: Partial<ResolvedApp> = {}) => ({ ...base, name, ...extra }) as ResolvedApp;

describe('diffApps', () => {
  it('finds the smallest change per app', () => {
    const changes = diffApps(
      [app('keep'), app('gone'), app('more'), app('env'), app('both')],
      [
        app('keep'),
        app('more', { instances: 4 }),
        app('env', { env: {} }),
        app('both', { instances: 1, nodeArgs: ['--x'] }),
        app('new'),
      ],
    );
    expect(changes).toEqual([
      { action: 'remove', name: 'gone' },
      { action: 'keep', name: 'keep' },
      { action: 'scale', app: expect.objectContaining({ name: 'more' }), from: 2, to: 4 },
      { action: 'roll', app: expect.objectContaining({ name: 'env' }), changed: ['env'] },
      { action: 'roll', app: expect.objectContaining({ name: 'both' }), changed: ['nodeArgs', 'instances'] },
      { action: 'add', app: expect.objectContaining({ name: 'new' }) },
    ]);
  });
});

describe('diffApps: log files', () => {
  it('rolls an app whose errorFile or timestamp changes, so its primary opens the new files', () => {
    const logs = { file: '/l/a.log', errorFile: null, timestamp: false, maxSize: 1, maxFiles: 1 };
    const changes = diffApps(
      [app('err', { logs }), app('time', { logs }), app('same', { logs })],
      [
        app('err', { logs: { ...logs, errorFile: '/l/a.err' } }),
        app('time', { logs: { ...logs, timestamp: 'HH:mm' } }),
        app('same', { logs: { ...logs } }),
      ],
    );
    expect(changes.map((c) => (c.action === 'roll' ? `${c.app.name} ${c.changed}` : c.action))).toEqual([
      'err logs',
      'time logs',
      'keep',
    ]);
  });
});

describe('diffApps: who listens', () => {
  it('restarts an app whose balancing changes who listens on its ports; rolls one that does not', () => {
    const rr = app('a', { balancing: 'round-robin' });
    const changes = diffApps(
      [rr, app('b', { balancing: 'kernel' }), app('c', { balancing: 'least-connections' })],
      [
        app('a', { balancing: 'sticky', instances: 3 }),
        app('b', { balancing: 'round-robin' }),
        app('c', { balancing: 'sticky' }),
      ],
    );
    expect(changes).toEqual([
      {
        action: 'restart',
        app: expect.objectContaining({ name: 'a' }),
        changed: ['instances', 'balancing'],
        why: expect.stringContaining('balancing round-robin -> sticky'),
      },
      {
        action: 'restart',
        app: expect.objectContaining({ name: 'b' }),
        changed: ['balancing'],
        why: expect.any(String),
      },
      // Both are clusterd's primary's listen: one Handoff serves old and new workers.
      { action: 'roll', app: expect.objectContaining({ name: 'c' }), changed: ['balancing'] },
    ]);
  });
});
