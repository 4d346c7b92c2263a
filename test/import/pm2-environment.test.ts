// Where an ecosystem file's values came from, decided from its runs with marker environments and an
// empty one: pure, on hand-made run results.
import { describe, expect, it } from 'vitest';
import {
  type Evidence,
  keyFromEnvironment,
  markerEnv,
  markerKeys,
  originOf,
  sanitizeApp,
  shownMessage,
} from '../../src/import/pm2/environment.js';

const markers = markerKeys(
  { PATH: '/usr/bin', HOME: '/root', DB_PASS: 'x', NODE_OPTIONS: '--inspect' },
  ['API_KEY'],
  'n0',
);
const a = markerEnv(markers, 'a');
const b = markerEnv(markers, 'b');
const evidence: Evidence = { markers, known: [] };

describe('marker environments', () => {
  it("give every variable of the environment and of the .env file a marker, and leave out Node's own", () => {
    expect(markers.keys).toEqual(['PATH', 'HOME', 'DB_PASS', 'API_KEY']);
    expect(a).toEqual({
      PATH: '__CLUSTERD_ENV_n0_a_0__:/usr/local/bin:/usr/bin:/bin',
      HOME: '__CLUSTERD_ENV_n0_a_1__',
      DB_PASS: '__CLUSTERD_ENV_n0_a_2__',
      API_KEY: '__CLUSTERD_ENV_n0_a_3__',
    });
    expect(b.DB_PASS).toBe('__CLUSTERD_ENV_n0_b_2__');
    expect([...markers.real]).toEqual(['PATH', 'HOME', 'DB_PASS']);
  });
});

describe('originOf', () => {
  it('names the variables whose markers a value holds, at any depth', () => {
    expect(originOf(`${a.HOME}/app`, `${b.HOME}/app`, evidence)).toEqual({
      variables: ['HOME'],
      fromFile: false,
    });
    expect(originOf(['--key', a.API_KEY], ['--key', b.API_KEY], evidence)).toEqual({
      variables: ['API_KEY'],
      fromFile: false,
    });
  });

  it('takes a value that differs between the runs as from the environment, and an equal one as the file’s', () => {
    expect(originOf(13, 14, evidence)).toEqual({ variables: [], fromFile: false });
    expect(originOf(Number.NaN, Number.NaN, evidence)).toBeNull();
    expect(originOf({ port: 3000 }, { port: 3000 }, evidence)).toBeNull();
  });

  it('matches what the module set itself: an equal value, or one that holds a long one', () => {
    const known: Evidence = { markers, known: ['1', 'postgres://u:p@db/x'] };
    expect(originOf('1', '1', known)).toEqual({ variables: [], fromFile: true });
    expect(originOf('url=postgres://u:p@db/x', 'url=postgres://u:p@db/x', known)?.fromFile).toBe(true);
    // A short value is matched whole only: "1" is in too many values to tell.
    expect(originOf('v1.2', 'v1.2', known)).toBeNull();
  });
});

describe('sanitizeApp', () => {
  it('leaves out a spread of process.env with one note naming the variables, and keeps what the file sets', () => {
    const app = (m: Record<string, string>) => ({
      name: 'web',
      env: { PATH: m.PATH, HOME: m.HOME, NODE_ENV: 'production' },
    });
    const result = sanitizeApp(
      app(a),
      app(b),
      { name: 'web', env: { NODE_ENV: 'production' } },
      evidence,
      [],
      null,
    );
    expect(result.app).toEqual({ name: 'web', env: { NODE_ENV: 'production' } });
    expect(result.notes).toEqual([
      {
        option: 'env',
        target: 'env',
        note: expect.stringMatching(/^spreads process.env: 2 inherited variables left out \(PATH, HOME\)/),
      },
    ]);
  });

  it('leaves out a variable read by name, and says when it came from the .env file the app now reads', () => {
    const app = (m: Record<string, string>) => ({
      name: 'db',
      env_production: { DB_PASS: m.DB_PASS, TOKEN: m.DB_PASS, KEY: m.API_KEY, MODE: 'x' },
    });
    const empty = {
      name: 'db',
      env_production: { DB_PASS: undefined, TOKEN: undefined, KEY: 'k', MODE: 'x' },
    };
    const result = sanitizeApp(app(a), app(b), empty, evidence, [], '.env');
    expect(result.app).toEqual({ name: 'db', env_production: { MODE: 'x' } });
    expect(result.notes).toEqual([
      {
        option: 'env_production.DB_PASS',
        target: '',
        note: expect.stringMatching(/^read from the environment when/),
      },
      {
        option: 'env_production.TOKEN',
        target: '',
        note: expect.stringMatching(/^read from the environment \(DB_PASS\) when the file ran/),
      },
      {
        option: 'env_production.KEY',
        target: '',
        note: 'from .env, which the app now reads through envFile',
      },
    ]);
  });

  it('takes another option from the run without an environment, or leaves it out when that has none', () => {
    const app = (m: Record<string, string>) => ({
      name: 'web',
      instances: m.HOME,
      cwd: m.HOME,
      script: 'a.js',
    });
    const empty = { name: 'web', instances: 'max', script: 'a.js' };
    const result = sanitizeApp(app(a), app(b), empty, evidence, [], null);
    expect(result.app).toEqual({ name: 'web', instances: 'max', script: 'a.js' });
    expect(result.notes).toEqual([
      {
        option: 'instances',
        target: '',
        note: 'read from the environment when the file ran (HOME); written as the file gives it with the variable unset',
      },
      {
        option: 'cwd',
        target: '',
        note: expect.stringMatching(/left out: the file gives no value of its own/),
      },
    ]);
    // A value the file gives without an environment that came from a .env file it loaded is no better.
    const loaded = sanitizeApp(
      app(a),
      app(b),
      { ...empty, instances: 's3cret-from-dotenv' },
      evidence,
      ['s3cret-from-dotenv'],
      null,
    );
    expect(loaded.app).not.toHaveProperty('instances');
  });
});

describe('what may be shown of the file', () => {
  it("names a marker in an error's message by its variable, and flags one that quotes part of a .env value", () => {
    const values = [['DB_PASS in .env', 'hunter2-very-secret'] as const];
    expect(shownMessage(`Error: bad ${a.DB_PASS}`, markers, values)).toEqual({
      text: 'Error: bad <$DB_PASS>',
    });
    // V8's JSON.parse quotes the start of a long string only.
    expect(shownMessage(`SyntaxError: "hunter2-ve"... is not valid JSON`, markers, values)).toEqual({
      text: `SyntaxError: "hunter2-ve"... is not valid JSON`,
      holds: 'DB_PASS in .env',
    });
    // A short value says nothing: it is in too many messages.
    expect(shownMessage('Error: on', markers, [['FLAG in .env', 'on']])).toEqual({ text: 'Error: on' });
  });

  it('takes a key that holds a marker or a long value the module set as from the environment', () => {
    const known: Evidence = { markers, known: ['DEBUG', 'hunter2-very-secret'] };
    expect(keyFromEnvironment(a.DB_PASS as string, known)).toBe(true);
    expect(keyFromEnvironment('hunter2-very-secret', known)).toBe(true);
    expect(keyFromEnvironment('DEBUG', known)).toBe(false);
    const app = sanitizeApp(
      { script: 'a.js', env: { 'hunter2-very-secret': '1', [a.HOME as string]: 'x', LEVEL: 'debug' } },
      { script: 'a.js', env: { 'hunter2-very-secret': '1', [b.HOME as string]: 'x', LEVEL: 'debug' } },
      null,
      known,
      [],
      null,
    );
    expect(app.app).toEqual({ script: 'a.js', env: { LEVEL: 'debug' } });
    expect(app.notes.map((n) => n.option)).toEqual(['env.(a variable)', 'env.(a variable)']);
    expect(JSON.stringify(app.notes)).not.toContain('hunter2');
  });
});
