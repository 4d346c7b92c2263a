// `primaryGroup` at load: inherited from `defaults` like any setting, null by default, and refused
// where a shared primary makes no sense (a program; two apps of a group on one PORT), with a message
// that names the key. Also what a config reload does with a change of group: a restart.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/config/normalize.js';
import type { ResolvedApp } from '../../src/config/resolved.js';
import type { ClusterdConfig } from '../../src/config/types.generated.js';
import { ErrorCode } from '../../src/errors.js';
import { diffApps } from '../../src/supervisor/config-diff.js';
import { resolvedApp } from '../helpers/fake-pool.js';
import { tempDir, writeFiles } from '../helpers/files.js';

function normalize(raw: object) {
  const dir = writeFiles(tempDir(), { 'server.js': '', 'bin/serve': '#!/bin/sh\nexec sleep 1000\n' });
  chmodSync(join(dir, 'bin/serve'), 0o755);
  return normalizeConfig(raw as ClusterdConfig, {
    file: join(dir, 'c.json'),
    cpus: () => 2,
    path: join(dir, 'bin'),
  });
}

describe('primaryGroup at load', () => {
  it('is null unless set, and is inherited from defaults', () => {
    const { config, issues } = normalize({
      defaults: { primaryGroup: 'web' },
      apps: [
        { name: 'a', script: 'server.js' },
        { name: 'b', script: 'server.js', primaryGroup: 'api' },
        { name: 'c', script: 'server.js', primaryGroup: null },
      ],
    });
    expect(issues).toEqual([]);
    expect(config?.apps.map((a) => a.primaryGroup)).toEqual(['web', 'api', null]);
    expect(normalize({ apps: [{ name: 'a', script: 'server.js' }] }).config?.apps[0]?.primaryGroup).toBe(
      null,
    );
  });

  it('refuses a program in a group, and two apps of a group on the same PORT', () => {
    const { config, issues } = normalize({
      apps: [
        { name: 'p', command: ['serve'], primaryGroup: 'g' },
        { name: 'a', script: 'server.js', primaryGroup: 'g', env: { PORT: '3000' } },
        { name: 'b', script: 'server.js', primaryGroup: 'g', env: { PORT: '3000' } },
        // Same port in another group, or alone: each has a primary of its own there.
        { name: 'c', script: 'server.js', primaryGroup: 'h', env: { PORT: '3000' } },
      ],
    });
    expect(config).toBeUndefined();
    expect(issues).toEqual([
      expect.objectContaining({
        code: ErrorCode.CONFIG_UNSUPPORTED,
        pointer: '/apps/0/primaryGroup',
        message: expect.stringContaining('app p runs a program (command), which cannot share a primary'),
      }),
      expect.objectContaining({
        code: ErrorCode.CONFIG_UNSUPPORTED,
        pointer: '/apps/2',
        message: expect.stringContaining('apps a and b share primaryGroup g and PORT 3000'),
      }),
    ]);
  });

  it('says so when a program inherits its group from defaults', () => {
    const { issues } = normalize({
      defaults: { primaryGroup: 'g' },
      apps: [
        { name: 'p', command: ['serve'] },
        { name: 'a', script: 'server.js' },
      ],
    });
    expect(issues).toEqual([
      expect.objectContaining({
        pointer: '/defaults/primaryGroup',
        message: expect.stringContaining('(from defaults)'),
        hint: 'set "primaryGroup": null on this app',
      }),
    ]);
  });
});

describe('primaryGroup on a config reload', () => {
  const app = (name: string, primaryGroup: string | null, extra: Partial<ResolvedApp> = {}) =>
    resolvedApp({ name, primaryGroup, ...extra });
  it('restarts an app that moves into, out of or between groups; rolls one that stays', () => {
    const changes = diffApps(
      [app('in', null), app('out', 'g'), app('move', 'g'), app('stay', 'g')],
      [app('in', 'g'), app('out', null), app('move', 'h'), app('stay', 'g', { env: { A: '1' } })],
    );
    expect(changes).toEqual([
      expect.objectContaining({ action: 'restart', why: expect.stringContaining('its own -> group g') }),
      expect.objectContaining({ action: 'restart', why: expect.stringContaining('group g -> its own') }),
      expect.objectContaining({ action: 'restart', why: expect.stringContaining('group g -> group h') }),
      { action: 'roll', app: expect.objectContaining({ name: 'stay' }), changed: ['env'] },
    ]);
  });
});
