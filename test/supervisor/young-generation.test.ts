// The root's young generation stays at its initial size (supervisor/young-generation.ts): found by the
// soak benchmark (bench/soak.ts), where the root's RSS grew by about 100 MiB over its run while its live
// heap did not. A process that allocates as the root does, short-lived objects at a steady rate, is run
// with and without the cap: without it V8 grows the young generation (the test proves the load would),
// with it the young generation keeps its initial 2 x 1 MiB.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capYoungGeneration, YOUNG_GENERATION_FLAG } from '../../src/supervisor/young-generation.js';
import { REPO_ROOT } from '../helpers/files.js';

const MODULE = join(REPO_ROOT, 'dist/supervisor/young-generation.js');

/** The young generation's size (MiB) of a node process after a burst of garbage, capped or not. */
function youngGenerationAfterLoad(capped: boolean): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    const { capYoungGeneration } = await import(${JSON.stringify(MODULE)});
    if (${capped}) capYoungGeneration();
    // What a busy root makes: a status or a scrape's worth of small objects, kept a moment, dropped.
    let kept = [];
    for (let round = 0; round < 300; round++) {
      kept = Array.from({ length: 5000 }, (_, i) => ({ app: 'web', worker: i, state: 'ready', pid: 1000 + i }));
      JSON.stringify(kept);
    }
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    console.log(young.space_size);
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return Number(out.trim()) / 2 ** 20;
}

describe('capYoungGeneration', () => {
  it('sets the growth factor of the young generation to 1', () => {
    const set: string[] = [];
    capYoungGeneration((flags) => set.push(flags));
    expect(set).toEqual([YOUNG_GENERATION_FLAG]);
    expect(YOUNG_GENERATION_FLAG).toBe('--semi-space-growth-factor=1');
  });

  it('keeps the young generation at 2 x 1 MiB under a load that grows it otherwise', () => {
    expect(youngGenerationAfterLoad(false)).toBeGreaterThan(4);
    expect(youngGenerationAfterLoad(true)).toBeLessThanOrEqual(2);
  });
});
