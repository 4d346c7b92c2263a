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
