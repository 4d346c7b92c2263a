// `clusterd help`: written from the command table (command-line.ts), so each command shows the options
// the parser lets it take, no more and no fewer.
import { COMMANDS, type CommandSpec, optionSynopsis, type Section } from './command-line.js';

const WIDTH = 104;
/** Where descriptions start. */
const COLUMN = 28;

const SECTIONS: Record<Section, string> = {
  Run: 'Run',
  'Set up': 'Set up',
  Migrate: 'Migrate',
  Control: 'Control a running clusterd (the one for the config in this directory, or --config PATH)',
};

// `start [config] [--env NAME] ...`, wrapped under the command's name.
function synopsis(spec: CommandSpec): string[] {
  const words = [spec.name, ...(spec.args ? [spec.args] : [])];
  for (const option of spec.options) {
    const shown = optionSynopsis(option, spec);
    // An option the arguments already show (export kubernetes' required --image) is not repeated.
    if (!spec.args.includes(shown.split(' ')[0] as string)) words.push(`[${shown}]`);
  }
  const lines: string[] = [];
  let line = `  ${words[0]}`;
  for (const word of words.slice(1)) {
    if (line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = `        ${word}`;
    } else line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

function entry(spec: CommandSpec): string[] {
  const lines = synopsis(spec);
  const pad = ' '.repeat(COLUMN);
  const help = spec.help.map((text) => `${pad}${text}`);
  const last = lines.at(-1) as string;
  if (lines.length === 1 && last.length < COLUMN - 1 && help.length)
    return [`${last.padEnd(COLUMN)}${spec.help[0]}`, ...help.slice(1)];
  return [...lines, ...help];
}

export function usageText(): string {
  const sections = (Object.keys(SECTIONS) as Section[]).map((section) =>
    [`${SECTIONS[section]}:`, ...COMMANDS.filter((c) => c.section === section).flatMap(entry)].join('\n'),
  );
  return `Usage: clusterd <command> [options]

${sections.join('\n\n')}

  help, --help, -h          This text
  version, --version, -v    clusterd's version

[config] is a config file or a directory to search; by default the working directory is searched for
cluster.config.{json,yaml,yml,js,mjs,cjs,ts,mts,cts}, .clusterdrc*, or package.json#clusterd.

Exit codes: 0 ok, 1 failure (also: no clusterd running), 2 import pm2 wrote the config but left something
out, 3 an app errored and nothing is left running, 64 usage error, 66 no config found, 78 invalid config,
128+N stopped immediately by a second signal N.
`;
}
