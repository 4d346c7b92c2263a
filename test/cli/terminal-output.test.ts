// An app's output and whatever a control socket answers cannot repaint the operator's terminal:
// `logs` escapes control characters on a terminal and stays byte-exact into a pipe; `status` and the
// other human output escape them always; `--json` is exact.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatStatus, requestCells } from '../../src/cli/commands/control.js';
import { escapeField, escapeText } from '../../src/cli/terminal-text.js';
import { socketPath } from '../../src/control/paths.js';
import type { Status } from '../../src/control/protocol.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/files.js';
import { FIXTURES, startRoot, testEnv } from '../helpers/root.js';
import { runCliOnTerminal } from '../helpers/terminal.js';

// What must never reach a terminal raw: ESC, BEL, CR (as the app wrote it), C1 CSI, DEL.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const RAW_CONTROL = /[\u001b\u0007\u009b\u007f]/;
const TITLE = '\u001b]0;pwned\u0007';
const CLEAR = '\u001b[2J';

const status = (name: string, script: string): Status => ({
  pid: 1234,
  config: `/srv/${CLEAR}/cluster.config.json`,
  environment: null,
  uptime: 5_000,
  apps: [
    {
      name,
      state: 'running',
      instances: 1,
      primary: 1235,
      workers: [
        {
          id: 0,
          pid: 1236,
          state: 'ready',
          restarts: 0,
          script,
          connections: null,
          uptime: 4_000,
          cpu: 1,
          memory: 1024,
          requests: { rate: 12.34, serverErrors: 0.025, p99: 3.21 },
        },
      ],
      replaced: { memory: 2 },
      requests: null,
    },
  ],
});

describe('escaping for the terminal', () => {
  it('escapes C0, DEL and C1 controls; keeps tab and newline only in text', () => {
    expect(escapeText(`a${TITLE}b\r\n\tc\u009b31m\u007f`)).toBe('a\\x1b]0;pwned\\x07b\\r\n\tc\\x9b31m\\x7f');
    expect(escapeField(`a\tb\nc${CLEAR}`)).toBe('a\\tb\\nc\\x1b[2J');
    expect(escapeText('plain — ünïcode ✓')).toBe('plain — ünïcode ✓');
  });

  it('formats a status with hostile names and paths as plain, aligned text', () => {
    const out = formatStatus(status(`evil${TITLE}`, `/srv/app${CLEAR}.js`));
    expect(out).not.toMatch(RAW_CONTROL);
    expect(out).toContain('evil\\x1b]0;pwned\\x07');
    expect(out).toContain('/srv/app\\x1b[2J.js');
    expect(out).toContain('/srv/\\x1b[2J/cluster.config.json');
    // Columns line up by the escaped width: the PID column starts at the same offset on both rows.
    const [, header, row] = out.split('\n') as [string, string, string];
    expect(row.indexOf('1236')).toBe(header.indexOf('PID'));
    expect(row).toMatch(/ 12 +2\.5% +3\.2 ms +\/srv\/app/);
    // The guards' replacements, under the table, the app's name escaped there too.
    expect(out).toContain('evil\\x1b]0;pwned\\x07: workers replaced by guards: memory 2\n');
  });
});

describe('validate', () => {
  it("prints a config's paths escaped, and exact with --json", async () => {
    const dir = tempDir();
    const cwd = `work${TITLE}dir`;
    writeFiles(dir, {
      'cluster.config.json': JSON.stringify({ apps: [{ name: 'web', script: 'x.js', cwd }] }),
      [`${cwd}/x.js`]: '',
    });
    const human = await runCli(['validate'], { cwd: dir });
    expect(human.code).toBe(0);
    expect(human.stdout).not.toMatch(RAW_CONTROL);
    expect(human.stdout).toContain('work\\x1b]0;pwned\\x07dir');
    const json = await runCli(['validate', '--json'], { cwd: dir });
    expect((JSON.parse(json.stdout) as { apps: { cwd: string }[] }).apps[0]?.cwd).toBe(join(dir, cwd));
  });
});

describe('logs and status from a real clusterd', () => {
  it('logs: escaped on a terminal, byte-exact into a pipe; status: escaped, --json exact', async () => {
    // The script's directory name holds a screen clear: it shows up in `status`.
    const dir = tempDir();
    const scriptDir = join(dir, `app${CLEAR}dir`);
    mkdirSync(scriptDir);
    const script = join(scriptDir, 'hostile-output.cjs');
    copyFileSync(join(FIXTURES, 'hostile-output.cjs'), script);
    const root = startRoot({ apps: [{ name: 'web', script, instances: 1 }] });
    await root.running('web');
    await root.waitFor((e) => e.msg === 'hostile output done', 'the hostile output');
    const options = { cwd: root.dir, env: root.env };

    const json = await runCli(['logs', 'web', '--json'], options);
    const lines = (JSON.parse(json.stdout) as { lines: string[] }).lines;
    // The root's lines are JSON (C0 already escaped by it), but C1 and DEL pass through as written.
    expect(lines.join('\n')).toMatch(/\u009b31m red, del \u007f/);

    const piped = await runCli(['logs', 'web'], options);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe(lines.map((l) => `${l}\n`).join(''));

    const terminal = await runCliOnTerminal(['logs', 'web'], options);
    expect(terminal.code).toBe(0);
    expect(terminal.stdout).not.toMatch(RAW_CONTROL);
    expect(terminal.stdout).toContain('\\x9b31m red, del \\x7f');
    expect(terminal.stdout).toContain('hostile output done');

    for (const run of [runCli, runCliOnTerminal]) {
      const table = await run(['status'], options);
      expect(table.code).toBe(0);
      expect(table.stdout).not.toMatch(RAW_CONTROL);
      expect(table.stdout).toContain(`app\\x1b[2Jdir/hostile-output.cjs`);
    }
    const exact = await runCli(['status', '--json'], options);
    expect((JSON.parse(exact.stdout) as Status).apps[0]?.workers[0]?.script).toBe(script);

    root.signal('SIGTERM');
    await root.waitForExit();
  });
});

// A server on the control socket that answers with raw escape sequences, as a buggy or hostile one could.
describe('answers from a control socket that sends raw control characters', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  it('are escaped in logs (recent and followed), status and error messages on a terminal', async () => {
    const dir = writeFiles(tempDir(), { 'cluster.config.json': '{"apps": []}' });
    const env = testEnv();
    const socket = socketPath(join(dir, 'cluster.config.json'), env);
    mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
    server = createServer((peer) => {
      peer.setEncoding('utf8').once('data', (chunk: string) => {
        const request = JSON.parse(chunk.split('\n')[0] ?? '{}') as {
          id: string;
          cmd: string;
          follow?: boolean;
        };
        const reply = (body: object) => peer.write(`${JSON.stringify({ v: 1, id: request.id, ...body })}\n`);
        if (request.cmd === 'logs' && request.follow) {
          reply({ following: true });
          reply({ output: `followed ${TITLE}${CLEAR}` });
        } else if (request.cmd === 'logs') {
          reply({ ok: true, result: { lines: [`recent ${TITLE}`, `bell\u0007 cr\rover`] } });
        } else if (request.cmd === 'status') {
          reply({ ok: true, result: status(`evil${TITLE}`, `/x${CLEAR}.js`) });
        } else reply({ ok: false, error: { code: 'X', message: `no app ${TITLE}${CLEAR}` } });
        peer.end();
      });
    });
    await new Promise<void>((resolve) => server?.listen(socket, resolve));
    const options = { cwd: dir, env };

    const logs = await runCliOnTerminal(['logs'], options);
    expect(logs.stdout).not.toMatch(RAW_CONTROL);
    expect(logs.stdout).toContain('recent \\x1b]0;pwned\\x07');
    expect(logs.stdout).toContain('bell\\x07 cr\\rover');
    const followed = await runCliOnTerminal(['logs', '--follow'], options);
    expect(followed.stdout).not.toMatch(RAW_CONTROL);
    expect(followed.stdout).toContain('followed \\x1b]0;pwned\\x07\\x1b[2J');

    const table = await runCliOnTerminal(['status'], options);
    expect(table.stdout).not.toMatch(RAW_CONTROL);
    expect(table.stdout).toContain('evil\\x1b]0;pwned\\x07');

    // The pty carries stderr too: the error message is escaped, and the exit code says it failed.
    const failed = await runCliOnTerminal(['restart', 'web'], options);
    expect(failed.code).not.toBe(0);
    expect(failed.stdout).not.toMatch(RAW_CONTROL);
    expect(failed.stdout).toContain('no app \\x1b]0;pwned\\x07\\x1b[2J');

    // Into a pipe, logs stay exact.
    const piped = await runCli(['logs'], options);
    expect(piped.stdout).toBe(`recent ${TITLE}\nbell\u0007 cr\rover\n`);
    const pipedFollow = await runCli(['logs', '-f'], options);
    expect(pipedFollow.stdout).toBe(`followed ${TITLE}${CLEAR}\n`);
  });
});

describe('status request columns', () => {
  it('show req/s, the 5xx share and p99 short, and - for whatever is not known', () => {
    expect(requestCells({ rate: 1234.4, serverErrors: 0.1234, p99: 250.6 })).toEqual([
      '1234',
      '12%',
      '251 ms',
    ]);
    expect(requestCells({ rate: 0.25, serverErrors: 0.0004, p99: 0.42 })).toEqual(['0.3', '<0.1%', '0.4 ms']);
    expect(requestCells({ rate: 0, serverErrors: null, p99: null })).toEqual(['0', '-', '-']);
    expect(requestCells({ rate: 5, serverErrors: 0, p99: 12 })).toEqual(['5', '0%', '12 ms']);
    expect(requestCells(null)).toEqual(['-', '-', '-']);
  });
});
