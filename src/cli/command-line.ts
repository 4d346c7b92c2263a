// The command line parsed against the tables of command-table.ts. As strict as the config: an unknown
// command or option, or an option the command does not take, is a usage error (exit 64) that names the
// closest known one and the options the command does take.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { suggest } from '../config/suggest.js';
import { ClusterdError, ErrorCode, ExitCode } from '../errors.js';
import {
  COMMANDS,
  type CommandSpec,
  GLOBAL,
  OPTIONS,
  type OptionName,
  type OptionSpec,
} from './command-table.js';

export { COMMANDS, type CommandSpec, OPTIONS, type OptionName, type Section } from './command-table.js';

/** The first word of each command, and the words that need none of the options. */
const WORDS = [...new Set([...COMMANDS.map((c) => c.name.split(' ')[0] as string), 'help', 'version'])];
/** Commands with a second word (`export systemd`): the first word, then the second words it takes. */
const SUBCOMMANDS: Record<string, { what: string; example: string }> = {
  export: { what: 'target', example: 'clusterd export systemd|kubernetes [config]' },
  import: { what: 'source', example: 'clusterd import pm2 <file>' },
};

export function usageError(message: string): ClusterdError {
  return new ClusterdError(ErrorCode.USAGE, `${message}\nRun "clusterd help" for usage.`, ExitCode.USAGE);
}

export function commandSpec(name: string): CommandSpec {
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) throw new Error(`no command ${name} in the table`);
  return spec;
}

/** `--env NAME`, `-o FILE`: an option as the help and the messages show it for a command. */
export function optionSynopsis(name: OptionName, spec?: CommandSpec): string {
  const option: OptionSpec = OPTIONS[name];
  // -o is the way it is written (`-o FILE`); other short forms are shown beside the long one.
  const flag = name === 'output' ? '-o' : option.short ? `--${name}|-${option.short}` : `--${name}`;
  const value = spec?.values?.[name] ?? option.value;
  return value === undefined ? flag : `${flag} ${value}`;
}

function takes(spec: CommandSpec): string {
  return spec.options.length
    ? `${spec.name} takes ${spec.options.map((o) => optionSynopsis(o, spec)).join(', ')}`
    : `${spec.name} takes no options`;
}

const NEGATIVE = '\0';
const unmask = (a: string) => (a.startsWith(NEGATIVE) ? a.slice(1) : a);

const isOption = (name: string): name is OptionName => Object.hasOwn(OPTIONS, name);

/**
 * The commands that take an option, by the words a user types: `start <app>` is just `start`, except
 * to one of the two forms of start, which the other is not.
 */
function takenBy(option: OptionName, to: CommandSpec): string[] {
  const names = COMMANDS.filter((c) => c.options.includes(option)).map((c) => c.name);
  return [...new Set(to.name.startsWith('start') ? names : names.map((n) => n.replace(' <app>', '')))];
}

/**
 * The error for an option none of `forms` takes: one refused for a reason, one of another command (which
 * commands take it), or one that does not exist (the closest of the options these forms take).
 */
function notTaken(forms: readonly CommandSpec[], typed: string, name: string, context = ''): ClusterdError {
  const spec = forms[0] as CommandSpec;
  const options = forms.map(takes).join('; ');
  if (isOption(name)) {
    const reason = spec.refuses?.[name];
    if (reason) return usageError(`${spec.name} takes no --${name}: ${reason}`);
    return usageError(
      `${typed} applies to ${takenBy(name, spec).join(', ')}, not to ${spec.name}${context}; ${options}`,
    );
  }
  const near = closest(
    name,
    forms.flatMap((f) => f.options),
  );
  const hint = near ? ` (did you mean --${near}?)` : '';
  return usageError(`unknown option ${typed} for ${spec.name}${hint}${context}; ${options}`);
}

/**
 * The config's "did you mean" (suggest), with ties between equally close words going to the one of the
 * typed length: a swap or a wrong letter is a likelier typo than a letter too many (`stauts` is status,
 * not start, though both are two edits away).
 */
function closest(typed: string, words: readonly string[]): string | undefined {
  const byLength = [...words].sort(
    (a, b) => Math.abs(a.length - typed.length) - Math.abs(b.length - typed.length),
  );
  return suggest(typed, byLength);
}

/** The values of every option: strings, booleans, as node:util parseArgs gives them. */
export type OptionValues = {
  [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean;
};

export interface CommandLine {
  /** The first word: `status`, `export`; undefined when none was given. */
  command: string | undefined;
  /** The command's entry in the table; undefined for help, version and no command. */
  spec: CommandSpec | undefined;
  /** The specs the options were checked against (both forms of `start`). */
  forms: readonly CommandSpec[];
  /** The arguments after the command's words. */
  args: string[];
  values: OptionValues;
  /** The options given, by name, in the order given. */
  given: OptionName[];
}

function nodeOptions(names: readonly OptionName[]): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(names.map((n) => [n, { ...OPTIONS[n] }]));
}

/**
 * Parses argv against the tables. Throws a usage error (exit 64) for an unknown command (with the
 * closest one), a missing or unknown export target or import source, an option the command does not
 * take (naming those it does), and a malformed value (`--env` without one).
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  // `scale web -1`: a negative count is an argument, not an option. It is masked while parsing (argv
  // cannot hold a NUL), so options after it are still options: `scale web -1 --timeout 30s`.
  const args = argv.map((a) => (/^-\d+$/.test(a) ? `${NEGATIVE}${a}` : a));
  // A first, lenient pass with every option finds the command's words; the options are checked after.
  const all = Object.keys(OPTIONS) as OptionName[];
  const loose = parseArgs({
    args,
    options: nodeOptions(all),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const [command, second] = loose.positionals.map(unmask);
  const typed = loose.tokens.flatMap((t) => (t.kind === 'option' ? [{ name: t.name, raw: t.rawName }] : []));
  const asked = (name: OptionName) => typed.some((t) => t.name === name);
  const none = { spec: undefined, forms: [], args: loose.positionals.slice(1).map(unmask) };
  if (
    command === undefined ||
    asked('help') ||
    asked('version') ||
    command === 'help' ||
    command === 'version'
  )
    return { command, ...none, values: loose.values as OptionValues, given: [] };
  if (!WORDS.includes(command)) {
    const near = closest(command, WORDS);
    throw usageError(
      `unknown command "${command}"${near ? `; did you mean ${near}?` : ` (commands: ${WORDS.join(', ')})`}`,
    );
  }
  let name = command;
  const sub = SUBCOMMANDS[command];
  if (sub) {
    const known = COMMANDS.filter((c) => c.name.startsWith(`${command} `)).map(
      (c) => c.name.split(' ')[1] as string,
    );
    if (second === undefined) throw usageError(`${command} needs a ${sub.what}: ${sub.example}`);
    if (!known.includes(second)) {
      const near = closest(second, known);
      throw usageError(
        `unknown ${command} ${sub.what} "${second}" (${sub.what}s: ${known.join(', ')})${near ? `; did you mean ${near}?` : ''}`,
      );
    }
    name = `${command} ${second}`;
  }
  const forms = COMMANDS.filter((c) => c.name === name || (command === 'start' && c.name === 'start <app>'));
  const spec = forms[0] as CommandSpec;
  const allowed = [...new Set([...forms.flatMap((f) => f.options), ...GLOBAL])];
  const stray = typed.find((t) => !allowed.includes(t.name as OptionName));
  if (stray) throw notTaken(forms, stray.raw, stray.name);
  let strict: ReturnType<typeof parseArgs>;
  try {
    strict = parseArgs({ args, options: nodeOptions(allowed), strict: true, allowPositionals: true });
  } catch (error) {
    throw usageError((error as Error).message);
  }
  return {
    command,
    spec,
    forms,
    args: strict.positionals.slice(sub ? 2 : 1).map(unmask),
    // A masked value (`--lines -5`) is given back as typed, for its own check to refuse.
    values: Object.fromEntries(
      Object.entries(strict.values).map(([k, v]) => [k, typeof v === 'string' ? unmask(v) : v]),
    ) as OptionValues,
    given: [...new Set(typed.map((t) => t.name as OptionName))],
  };
}

/**
 * The command line is of `form` (`start <app>` rather than `start`): an option given that this form
 * does not take is a usage error. `why` says how the form was chosen.
 */
export function requireForm(line: CommandLine, form: string, why = ''): void {
  const spec = commandSpec(form);
  const stray = line.given.find((name) => !spec.options.includes(name) && !GLOBAL.includes(name));
  if (stray) throw notTaken([spec], `--${stray}`, stray, why);
}
