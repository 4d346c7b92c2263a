// The command line against its tables (command-table.ts): each command takes its own options and no
// other, unknown words get the closest known one, and the help shows exactly what the parser takes.
import { describe, expect, it } from 'vitest';
import {
  COMMANDS,
  OPTIONS,
  type OptionName,
  optionSynopsis,
  parseCommandLine,
  requireForm,
} from '../../src/cli/command-line.js';
import { usageText } from '../../src/cli/help.js';
import { ClusterdError, ErrorCode, ExitCode } from '../../src/errors.js';

/** The usage error parsing `argv` throws; fails the test if it throws none. */
function usage(argv: string[], form?: [string, string?]): ClusterdError {
  try {
    const line = parseCommandLine(argv);
    if (form) requireForm(line, form[0], form[1]);
  } catch (error) {
    expect(error).toBeInstanceOf(ClusterdError);
    const e = error as ClusterdError;
    expect([e.code, e.exitCode]).toEqual([ErrorCode.USAGE, ExitCode.USAGE]);
    expect(e.message).toMatch(/\nRun "clusterd help" for usage\.$/);
    return e;
  }
  throw new Error(`${argv.join(' ')} parsed without a usage error`);
}

describe('parseCommandLine', () => {
  it("gives a command its own options, its arguments after the command's words", () => {
    const k = parseCommandLine([
      'export',
      'kubernetes',
      'c.json',
      '--image',
      'shop:1',
      '--replicas',
      '3',
      '-o',
      '-',
    ]);
    expect(k.spec?.name).toBe('export kubernetes');
    expect(k.args).toEqual(['c.json']);
    expect(k.values).toEqual({ image: 'shop:1', replicas: '3', output: '-' });
    const logs = parseCommandLine(['logs', 'web', '-f', '--lines', '2']);
    expect([logs.command, logs.args, logs.values]).toEqual(['logs', ['web'], { follow: true, lines: '2' }]);
  });

  it('takes options before the command, and a negative count as an argument', () => {
    const status = parseCommandLine(['--config', '/srv/shop/cluster.config.json', 'status']);
    expect([status.command, status.values]).toEqual(['status', { config: '/srv/shop/cluster.config.json' }]);
    const scale = parseCommandLine(['scale', 'web', '-1', '--timeout', '30s']);
    expect(scale.args).toEqual(['web', '-1']);
    expect(scale.values).toEqual({ timeout: '30s' });
  });

  it('refuses an option of another command, naming the command, its options and who takes it', () => {
    const e = usage(['status', '--image', 'x', '--replicas', '3', '--force']);
    expect(e.message).toMatch(
      /^--image applies to export kubernetes, not to status; status takes --config PATH, --json\n/,
    );
    expect(usage(['schema', '--json']).message).toMatch(/not to schema; schema takes no options\n/);
    expect(usage(['init', '-o', 'x.json']).message).toMatch(
      /^-o applies to export systemd, export kubernetes, import pm2, profile, heap, not to init; init takes --format json\|yaml\|ts, --name NAME, --script FILE, --force\n/,
    );
    expect(usage(['status', '--timeout', '3s']).message).toMatch(
      /^--timeout applies to reload, restart, scale, stop, start, up, not to status;/,
    );
    expect(usage(['status', '-f']).message).toMatch(/^-f applies to logs, not to status;/);
  });

  it('gives an unknown option the closest of the command’s own', () => {
    expect(usage(['status', '--jsno']).message).toMatch(
      /^unknown option --jsno for status \(did you mean --json\?\); status takes --config PATH, --json\n/,
    );
    expect(usage(['logs', '--follwo']).message).toMatch(/\(did you mean --follow\?\)/);
    expect(usage(['validate', '--colour']).message).toMatch(
      /^unknown option --colour for validate; validate takes --env NAME, --json\n/,
    );
  });

  it('gives an unknown command the closest known one', () => {
    expect(usage(['stauts']).message).toMatch(/^unknown command "stauts"; did you mean status\?\n/);
    expect(usage(['relaod', 'web']).message).toMatch(/did you mean reload\?/);
    expect(usage(['exprot', 'systemd']).message).toMatch(/did you mean export\?/);
    expect(usage(['frobnicate']).message).toMatch(
      /^unknown command "frobnicate" \(commands: start, validate, /,
    );
    expect(usage(['export', 'systemdd']).message).toMatch(
      /^unknown export target "systemdd" \(targets: systemd, kubernetes\); did you mean systemd\?/,
    );
    expect(usage(['export']).message).toMatch(/^export needs a target: clusterd export systemd\|kubernetes/);
    expect(usage(['import']).message).toMatch(/^import needs a source: clusterd import pm2 <file>/);
  });

  it('keeps the reason of an option refused for one', () => {
    expect(usage(['import', 'pm2', 'ecosystem.config.js', '--env', 'production']).message).toMatch(
      /^import pm2 takes no --env: each env_<name> becomes environments\.<name>/,
    );
  });

  it('still reports a malformed value', () => {
    expect(usage(['validate', '--env']).message).toMatch(/argument missing/);
    expect(usage(['status', '--json=yes']).message).toMatch(/does not take an argument/);
  });

  it('checks the form of start once it is known: an app of the running clusterd, or a config to run', () => {
    const app = parseCommandLine(['start', 'web', '--timeout', '30s', '--json']);
    expect(() => requireForm(app, 'start <app>')).not.toThrow();
    expect(usage(['start', 'web', '--watch'], ['start <app>', ' (web is an app)']).message).toMatch(
      /^--watch applies to start, not to start <app> \(web is an app\); start <app> takes --config PATH, --json, --timeout DURATION\n/,
    );
    expect(usage(['start', '--timeout', '3s'], ['start']).message).toMatch(
      /^--timeout applies to reload, restart, scale, stop, start <app>, up, not to start; start takes --env NAME/,
    );
  });

  it('leaves help and version to main, whatever else is given', () => {
    for (const argv of [['--help'], ['status', '-h'], ['-v'], ['help'], ['version'], []])
      expect(() => parseCommandLine(argv)).not.toThrow();
  });
});

describe('the command table', () => {
  it('has no option that no command takes', () => {
    const taken = new Set(COMMANDS.flatMap((c) => c.options));
    const unused = (Object.keys(OPTIONS) as OptionName[]).filter(
      (o) => !taken.has(o) && o !== 'help' && o !== 'version',
    );
    expect(unused).toEqual([]);
  });

  it('is what the help shows: each command with exactly the options it takes', () => {
    const help = usageText();
    const flags = (text: string) => [...text.matchAll(/(?<=\[)(--?[a-z-]+)/g)].map((m) => m[1]).sort();
    const lines = help.split('\n');
    for (const spec of COMMANDS) {
      // The command's synopsis: its line (less a description on the same line) and the lines that
      // continue it (8 spaces in; descriptions are 28 in).
      const at = lines.findIndex((l) => l === `  ${spec.name}` || l.startsWith(`  ${spec.name} `));
      expect(at, spec.name).toBeGreaterThan(0);
      const more = [];
      for (const l of lines.slice(at + 1)) {
        if (!/^ {8}\S/.test(l)) break;
        more.push(l);
      }
      const synopsis = [(lines[at] as string).slice(2).replace(/ {2,}\S.*$/, ''), ...more].join(' ');
      const expected = spec.options
        .map((o) => optionSynopsis(o, spec).split(/[ |]/)[0] as string)
        .filter((flag) => !spec.args.includes(flag))
        .sort();
      expect(flags(synopsis), spec.name).toEqual(expected);
    }
  });
});
