// When clusterd init may write its file beside the configs already in a directory.
import { describe, expect, it } from 'vitest';
import { placement } from '../../src/init/placement.js';

describe('clusterd init: where the config goes', () => {
  it('writes into a directory without a config', () => {
    expect(placement([], 'cluster.config.json', false)).toEqual({ ok: true, shadowed: [] });
  });

  it('overwrites its own file only with --force', () => {
    expect(placement(['cluster.config.json'], 'cluster.config.json', false)).toEqual({
      ok: false,
      reason: 'cluster.config.json exists; pass --force to overwrite it',
    });
    expect(placement(['cluster.config.json'], 'cluster.config.json', true)).toEqual({
      ok: true,
      shadowed: [],
    });
  });

  it('never writes a file that a config found before it would hide, even with --force', () => {
    for (const force of [false, true]) {
      const result = placement(['cluster.config.json'], 'cluster.config.yaml', force);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.reason).toMatch(
        /^cluster\.config\.json is already this directory's clusterd config, and would still be used instead of a new cluster\.config\.yaml: remove it first/,
      );
    }
    expect(placement(['cluster.config.yaml', 'cluster.config.ts'], 'cluster.config.ts', true).ok).toBe(false);
  });

  it('asks for --force before writing a config that hides another, and says which', () => {
    const refused = placement(['.clusterdrc.yaml', 'package.json'], 'cluster.config.yaml', false);
    expect(refused).toEqual({
      ok: false,
      reason:
        ".clusterdrc.yaml is already this directory's clusterd config; pass --force to write cluster.config.yaml anyway (it would be used instead)",
    });
    expect(placement(['package.json'], 'cluster.config.json', false)).toMatchObject({
      reason: expect.stringMatching(/^package\.json \(its "clusterd" key\) is already/),
    });
    expect(placement(['cluster.config.ts', 'package.json'], 'cluster.config.ts', true)).toEqual({
      ok: true,
      shadowed: ['package.json'],
    });
  });
});
