// The canary process tests' app and deploys: canary-release.cjs reads its behaviour from release.json
// beside the config at its workers' start, as new code on disk would be.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './cli.js';
import { getJson } from './http.js';
import { fixtureApp, type Root, startRoot } from './root.js';

export interface Release {
  name: string;
  errorEvery?: number;
  delayMs?: number;
  crashAfterMs?: number;
}

export const canary = { warmup: '1s', observe: '4s', minRequests: 100 };

export function start(
  release: Release,
  extra: Record<string, unknown> = {},
  settings: Record<string, unknown> = canary,
) {
  const root = startRoot(
    {
      apps: [
        fixtureApp('web', 'canary-release.cjs', { instances: 3, reload: { canary: settings }, ...extra }),
      ],
    },
    { files: { 'release.json': JSON.stringify(release) } },
  );
  return root;
}

export function deploy(root: Root, release: Release, args: string[] = []) {
  writeFileSync(join(root.dir, 'release.json'), JSON.stringify(release));
  return runCli(['reload', 'web', ...args], { cwd: root.dir, env: root.env });
}

export async function releasesServing(address: string, n = 30): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(((await getJson(address)) as { release: string }).release);
  return seen;
}
