// `clusterd import pm2` on ecosystem files that read the environment: a secret planted in the
// importer's environment and in a .env file appears nowhere (stdout, stderr, any file written), each
// key left out is named with the reason, and the config written runs on this machine.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';

// What dotenv's config() does, without the dependency: .env from the working directory, and a variable
// that is set already wins. It also prints what it read, as a careless file might.
const DOTENV = `const fs = require('node:fs');
for (const line of fs.readFileSync('.env', 'utf8').split('\\n')) {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
  if (m && process.env[m[1]] === undefined) process.env[m[1]] = m[2];
}
console.log('loaded', process.env.DB_PASS);
`;

// Every file under `dir` but the .env the user wrote, as text.
function writtenFiles(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name !== '.env' && !name.endsWith('/.env'))
    .map((name) => {
      try {
        return readFileSync(join(dir, name), 'utf8');
      } catch {
        return ''; // a directory
      }
    })
    .join('\n');
}

const secret = () => `planted-${randomBytes(12).toString('hex')}`;

describe('import pm2 and the environment', () => {
  it('leaves a spread of process.env and variables read from it to the environment, naming each key', async () => {
    const shell = secret();
    const dir = writeFiles(tempDir(), {
      'server.js': '',
      'ecosystem.config.js': `module.exports = {
  apps: [{
    name: 'api',
    script: './server.js',
    instances: process.env.WEB_CONCURRENCY || 2,
    env: { ...process.env, NODE_ENV: 'production' },
    env_staging: { TOKEN: process.env.CLUSTERD_TEST_SECRET, LEVEL: 'debug' },
  }],
};
`,
    });
    const env = { ...process.env, CLUSTERD_TEST_SECRET: shell, WEB_CONCURRENCY: '7' };
    const r = await runCli(['import', 'pm2', 'ecosystem.config.js'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}${writtenFiles(dir)}`).not.toContain(shell);
    const config = JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8'));
    expect(config.apps[0]).toMatchObject({
      instances: 2,
      env: { NODE_ENV: 'production' },
      environments: { staging: { LEVEL: 'debug' } },
    });
    expect(Object.keys(config.apps[0].env)).toEqual(['NODE_ENV']);
    expect(r.stderr).toMatch(
      /^api\s+env\s+changed\s+env\s+spreads process\.env: \d+ inherited variables left out/m,
    );
    expect(r.stderr).toMatch(
      /^api\s+env_staging\.TOKEN\s+changed\s+-\s+read from the environment \(CLUSTERD_TEST_SECRET\) when the file ran/m,
    );
    expect(r.stderr).toMatch(
      /^api\s+instances\s+changed\s+instances\s+.*read from the environment when the file ran \(WEB_CONCURRENCY\); written as the file gives it with the variable unset/m,
    );
    expect((await runCli(['validate'], { cwd: dir })).code).toBe(0);
  });

  it('maps a .env file the ecosystem file loads to envFile, and writes none of its values', async () => {
    const shell = secret();
    const dotenv = secret();
    const dir = writeFiles(tempDir(), {
      'server.js': '',
      '.env': `DB_PASS=${dotenv}\nSHARED=${dotenv}-shared\n`,
      'ecosystem.config.js': `${DOTENV}
module.exports = {
  apps: [{
    name: 'db',
    script: './server.js',
    args: ['--password', process.env.DB_PASS],
    env: { DB_PASS: process.env.DB_PASS, URL: 'postgres://app:' + process.env.SHARED + '@db/app', PORT: 3000 },
  }],
};
`,
    });
    const env = { ...process.env, CLUSTERD_TEST_SECRET: shell };
    const r = await runCli(['import', 'pm2', 'ecosystem.config.js'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    const everything = `${r.stdout}${r.stderr}${writtenFiles(dir)}`;
    expect(everything).not.toContain(shell);
    expect(everything).not.toContain(dotenv);
    const config = JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8'));
    expect(config.apps[0]).toMatchObject({ name: 'db', envFile: '.env', env: { PORT: 3000 } });
    expect(config.apps[0]).not.toHaveProperty('args');
    expect(r.stderr).toMatch(
      /^db\s+env\.DB_PASS\s+changed\s+-\s+from \.env, which the app now reads through envFile/m,
    );
    expect(r.stderr).toMatch(/^db\s+env\.URL\s+changed\s+-\s+from \.env/m);
    expect(r.stderr).toMatch(/^db\s+\(\.env loaded by the file\)\s+changed\s+envFile\s+/m);
    expect(r.stderr).toMatch(
      /^db\s+args\s+changed\s+-\s+read from the environment when the file ran \(DB_PASS\); left out/m,
    );
    const valid = await runCli(['validate'], { cwd: dir });
    expect(valid.code, valid.stderr).toBe(0);
    expect(`${valid.stdout}${valid.stderr}`).not.toContain(dotenv);
  });

  it('writes no secret into a program: what the file read from the environment is left out of its command', async () => {
    const shell = secret();
    const dir = writeFiles(tempDir(), {
      'etl.py': '',
      'ecosystem.config.js': `module.exports = {
  apps: [{
    name: 'etl',
    script: 'etl.py',
    interpreter: process.env.ETL_PYTHON || 'python3',
    interpreter_args: ['-X', 'dev'],
    args: ['--token', process.env.CLUSTERD_TEST_SECRET],
    env: { TOKEN: process.env.CLUSTERD_TEST_SECRET, LEVEL: 'debug' },
  }],
};
`,
    });
    const env = { ...process.env, CLUSTERD_TEST_SECRET: shell, ETL_PYTHON: 'python3' };
    const r = await runCli(['import', 'pm2', 'ecosystem.config.js'], { cwd: dir, env });
    // args holds no value of its own without the variable: lost, and named (exit 2).
    expect(r.code, r.stderr).toBe(2);
    expect(`${r.stdout}${r.stderr}${writtenFiles(dir)}`).not.toContain(shell);
    const config = JSON.parse(readFileSync(join(dir, 'cluster.config.json'), 'utf8'));
    expect(config.apps[0]).toMatchObject({
      name: 'etl',
      command: ['python3', '-X', 'dev', 'etl.py'],
      env: { LEVEL: 'debug', PYTHONUNBUFFERED: '1' },
    });
    expect(Object.keys(config.apps[0].env).sort()).toEqual(['LEVEL', 'PYTHONUNBUFFERED']);
    expect(r.stderr).toMatch(
      /^etl\s+args\s+unsupported\s+-\s+not a string or a list of strings; read from the environment when the file ran \(CLUSTERD_TEST_SECRET\)/m,
    );
    expect(r.stderr).toMatch(
      /^etl\s+interpreter\s+changed\s+command\s+.*read from the environment when the file ran \(ETL_PYTHON\); written as the file gives it with the variable unset/m,
    );
    const valid = await runCli(['validate'], { cwd: dir, env });
    expect(valid.code, valid.stderr).toBe(0);
    expect(`${valid.stdout}${valid.stderr}`).not.toContain(shell);
  });

  it('shows no part of a .env value the file loads over the placeholders, in an error or as a key', async () => {
    const dotenv = secret();
    const override = `const fs = require('node:fs');
for (const line of fs.readFileSync('.env', 'utf8').split('\\n')) {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
  if (m) process.env[m[1]] = m[2];
}
`;
    const dir = writeFiles(tempDir(), {
      'server.js': '',
      '.env': `DB_PASS=${dotenv}\n`,
      'threw.config.js': `${override}JSON.parse(process.env.DB_PASS);\n`,
      'keyed.config.js': `${override}module.exports = { apps: [{ name: 'api', script: 'server.js', env: { [process.env.DB_PASS]: '1', LEVEL: 'debug' } }] };\n`,
    });
    const threw = await runCli(['import', 'pm2', 'threw.config.js', '-o', '-'], { cwd: dir });
    expect(threw.code).toBe(78);
    expect(threw.stderr).toContain('with an error message that holds part of the value of DB_PASS in');
    expect(`${threw.stdout}${threw.stderr}`).not.toContain(dotenv.slice(0, 8));
    const keyed = await runCli(['import', 'pm2', 'keyed.config.js'], { cwd: dir });
    expect(keyed.code, keyed.stderr).toBe(0);
    expect(`${keyed.stdout}${keyed.stderr}${writtenFiles(dir)}`).not.toContain(dotenv);
    expect(keyed.stderr).toMatch(
      /^api\s+env\.\(a variable\)\s+changed\s+-\s+a name read from the environment/m,
    );
  });
});
