// `npm start` runs cluster.config.example.json; this runs the same example app and config, on a free
// port instead of 3000, and checks that several workers answer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/files.js';
import { getJson } from '../helpers/http.js';
import { startRoot } from '../helpers/root.js';

describe('the example cluster', () => {
  it('answers from several workers', async () => {
    const config = JSON.parse(readFileSync(join(REPO_ROOT, 'cluster.config.example.json'), 'utf8'));
    delete config.$schema;
    const [app] = config.apps;
    app.script = join(REPO_ROOT, app.script);
    app.env.PORT = 0;
    const root = startRoot(config);
    await root.running(app.name);
    const address = await root.address(app.name);
    const workers = new Set<number>();
    for (let i = 0; i < 40 && workers.size < app.instances; i++) {
      workers.add((await getJson<{ worker: number }>(address)).worker);
    }
    expect(workers.size).toBe(app.instances);
    expect(app.instances).toBeGreaterThan(1);
    root.signal('SIGINT');
    expect((await root.waitForExit()).code).toBe(0);
  });
});
