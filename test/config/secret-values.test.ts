// Env values are never quoted in a message: not by `validate`, not by `validate --json`, not in the
// supervisor's log after a failed config reload. Each case carries a recognizable secret and checks
// that it appears nowhere while the message still says what is wrong and where.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeSecret, isSecretPointer } from '../../src/config/secret-values.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { FIXTURES, startRoot } from '../helpers/root.js';

const SECRET = 'hunter2-SECRET';
const long = `${SECRET}${'x'.repeat(40_000)}`;

// One file with every way an env value can be wrong, in an app, in `defaults` and in `environments`.
const config = {
  defaults: { env: { D: `${SECRET}-defaults\u0000` }, environments: { staging: `${SECRET}-overlay` } },
  apps: [
    {
      name: 'web',
      script: 'x.js',
      env: { NUL: `${SECRET}\u0000tail`, OBJ: { nested: SECRET }, ARR: [SECRET], LONG: long },
      environments: { production: { P: `\u0000${SECRET}` } },
    },
    { name: 'other', script: 'x.js', env: SECRET },
  ],
};

// [pointer, what the message must say]
const expected: [string, RegExp][] = [
  ['/defaults/env/D', /NUL.*got a NUL at position 24 of a string of length 24/],
  ['/defaults/environments/staging', /must be an object, got a string of length 22/],
  ['/apps/0/env/NUL', /got a NUL at position 15 of a string of length 19/],
  ['/apps/0/env/OBJ', /must be a string, a number, a boolean or null, got an object/],
  ['/apps/0/env/ARR', /got an array/],
  ['/apps/0/env/LONG', /must be at most 32768 characters long, got 40014/],
  ['/apps/0/environments/production/P', /got a NUL at position 1 of a string of length 15/],
  ['/apps/1/env', /must be an object, got a string of length 14/],
];

describe('secret values', () => {
  it('describes a value by kind, length and the position of a NUL, never by content', () => {
    expect(describeSecret(`${SECRET}\u0000`)).toBe('a NUL at position 15 of a string of length 15');
    expect(describeSecret(SECRET)).toBe('a string of length 14');
    expect(describeSecret(12345)).toBe('a number');
    expect(describeSecret(true)).toBe('a boolean');
    expect(describeSecret(null)).toBe('null');
    expect(describeSecret({ a: SECRET })).toBe('an object');
    expect(describeSecret([SECRET])).toBe('an array');
  });

  it('treats everything under env and environments as secret, and nothing else', () => {
    for (const p of ['/apps/0/env', '/apps/12/env/A', '/defaults/env/A/b', '/apps/0/environments/x/A']) {
      expect(isSecretPointer(p), p).toBe(true);
    }
    for (const p of ['/apps/0/name', '/apps/0/envx', '/apps/0/args/0', '/defaults/environment', '']) {
      expect(isSecretPointer(p), p).toBe(false);
    }
  });

  it('validate and validate --json say what is wrong and where without quoting the value', async () => {
    const dir = writeFiles(tempDir(), { 'cluster.config.json': JSON.stringify(config), 'x.js': '' });
    const human = await runCli(['validate', 'cluster.config.json'], { cwd: dir });
    expect(human.code).toBe(78);
    expect(`${human.stdout}${human.stderr}`).not.toContain('hunter2');
    for (const [pointer, message] of expected) {
      const line = human.stderr
        .split('\n')
        .find((l) => l.includes(`${pointer} `) || l.includes(`${pointer}:`));
      expect(line, pointer).toMatch(message);
    }

    const json = await runCli(['validate', '--json', 'cluster.config.json'], { cwd: dir });
    expect(json.code).toBe(78);
    expect(`${json.stdout}${json.stderr}`).not.toContain('hunter2');
    const errors = (JSON.parse(json.stdout) as { errors: { pointer: string; message: string }[] }).errors;
    expect(errors.map((e) => e.pointer).sort()).toEqual(expected.map(([p]) => p).sort());
    for (const [pointer, message] of expected) {
      expect(errors.find((e) => e.pointer === pointer)?.message, pointer).toMatch(message);
    }
  });

  it('a YAML config is described the same way', async () => {
    const yaml = `apps:\n  - name: web\n    script: x.js\n    env:\n      A: "${SECRET}\\0"\n      B: {x: ${SECRET}}\n`;
    const dir = writeFiles(tempDir(), { 'cluster.config.yaml': yaml, 'x.js': '' });
    const result = await runCli(['validate', 'cluster.config.yaml'], { cwd: dir });
    expect(result.code).toBe(78);
    expect(`${result.stdout}${result.stderr}`).not.toContain('hunter2');
    expect(result.stderr).toMatch(
      /:5:\d+ \/apps\/0\/env\/A .*got a NUL at position 15 of a string of length 15/,
    );
    expect(result.stderr).toMatch(/:6:\d+ \/apps\/0\/env\/B .*got an object/);
  });

  it('a failed SIGHUP config reload logs the problem without the value', async () => {
    const app = { name: 'web', script: join(FIXTURES, 'http-server.cjs'), instances: 1 };
    const root = startRoot({ apps: [{ ...app, env: { TOKEN: 'fine' } }] });
    await root.running('web');
    const mark = root.events.length;
    writeFileSync(
      join(root.dir, 'cluster.config.json'),
      JSON.stringify({ apps: [{ ...app, env: { TOKEN: `${SECRET}\u0000` } }] }),
    );
    root.signal('SIGHUP');
    const failed = await root.waitFor((e) => e.msg.startsWith('config reload failed'), 'the failed reload', {
      from: mark,
    });
    expect(failed.msg).toMatch(/\/apps\/0\/env\/TOKEN .*got a NUL at position 15 of a string of length 15/);
    expect(root.output.join('\n')).not.toContain('hunter2');
    root.signal('SIGTERM');
    expect((await root.waitForExit()).code).toBe(0);
    expect(root.output.join('\n')).not.toContain('hunter2');
  });
});
