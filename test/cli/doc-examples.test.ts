// Every `clusterd ...` command line the docs show must still parse: a command or an option renamed or
// taken away from a command fails here, not in a reader's terminal. Lines are taken from code blocks
// (after a `$ ` prompt, or starting with `clusterd <command>`) and from inline code; synopses with
// placeholders (`[app]`, `<file>`, `a|b`, `...`) are templates, not command lines, and are left out
// (docs/cli.md's table of options is checked against the command table instead).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, optionSynopsis, parseCommandLine, requireForm } from '../../src/cli/command-line.js';
import { REPO_ROOT } from '../helpers/files.js';

const WORDS = new Set([...COMMANDS.map((c) => c.name.split(' ')[0]), 'help', 'version']);
const DOCS = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);

// Shell words, quotes removed; stops at an unquoted pipe, redirection, comment or `&&`. Null when a
// word outside quotes is a placeholder.
function shellWords(line: string): string[] | null {
  const words: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const m of line.matchAll(re)) {
    const bare = m[3];
    if (bare !== undefined) {
      if (['|', '>', '>>', '&&', ';', '2>&1'].includes(bare) || bare.startsWith('#')) break;
      if (/[[\]<>|()]|\.\.\./.test(bare)) return null;
      words.push(bare);
    } else words.push(m[1] ?? m[2] ?? '');
  }
  return words;
}

interface Example {
  file: string;
  line: number;
  text: string;
  argv: string[];
  /** The usage error the doc shows right below (a mistake shown on purpose), as the CLI prints it. */
  refused?: string;
}

const USAGE_END = 'Run "clusterd help" for usage.';

function examples(): Example[] {
  const found: Example[] = [];
  for (const file of DOCS) {
    const lines = readFileSync(join(REPO_ROOT, file), 'utf8').split('\n');
    let fenced = false;
    lines.forEach((raw, i) => {
      if (/^\s*```/.test(raw)) {
        fenced = !fenced;
        return;
      }
      const candidates: { text: string; prompt: boolean }[] = [];
      if (fenced) {
        // After a prompt, sudo, env or variables: `sudo -u www-data env X=1 clusterd status`.
        const m = /^\s*(\$ )?((?:sudo (?:-u \S+ )?|env |[A-Z_]+=\S+ )*)(?:npx )?(clusterd .*)$/.exec(raw);
        if (m?.[3]) candidates.push({ text: m[3], prompt: m[1] !== undefined || m[2] !== '' });
      } else
        for (const m of raw.matchAll(/`(?:npx )?(clusterd [^`]+)`/g))
          if (m[1]) candidates.push({ text: m[1], prompt: false });
      for (const { text, prompt } of candidates) {
        // A synopsis line's description starts after a run of spaces.
        const words = shellWords(text.split(/ {3,}/)[0] as string);
        // Output lines (`clusterd 24641, cluster.config.json`, `clusterd started ...`) have no prompt
        // and no command word after clusterd.
        if (!words || words.length < 2 || (!prompt && !WORDS.has(words[1] as string))) continue;
        const example: Example = { file, line: i + 1, text, argv: words.slice(1) };
        if (fenced && prompt) {
          const shown = [];
          for (const next of lines.slice(i + 1)) {
            if (/^\s*(\$ |```)/.test(next)) break;
            shown.push(next);
          }
          if (shown.at(-1) === USAGE_END) example.refused = shown.join('\n');
        }
        found.push(example);
      }
    });
  }
  return found;
}

describe('the command lines in the docs', () => {
  const all = examples();

  it('are found (README.md, and the docs for each kind of command), mistakes shown on purpose too', () => {
    expect(all.filter((e) => e.refused).length).toBeGreaterThanOrEqual(3);
    const files = new Set(all.map((e) => e.file));
    for (const file of ['README.md', 'docs/control.md', 'docs/deploy.md', 'docs/cli.md'])
      expect(files).toContain(file);
    expect(all.length).toBeGreaterThan(40);
  });

  it('all parse', () => {
    const failed = all.flatMap((e) => {
      try {
        const line = parseCommandLine(e.argv);
        // `start web` with an option of the other form: `web` names no file in the docs' world.
        if (line.command === 'start' && line.args[0] !== undefined && !/[./]/.test(line.args[0]))
          requireForm(line, 'start <app>');
        return e.refused ? [`${e.file}:${e.line}: ${e.text}\n  parses, but the doc shows it refused`] : [];
      } catch (error) {
        const printed = `clusterd: ${(error as Error).message}`;
        if (e.refused === printed) return [];
        return [`${e.file}:${e.line}: ${e.text}\n  ${printed.replace(/\n/g, '\n  ')}`];
      }
    });
    expect(failed.join('\n')).toBe('');
  });
});

describe('docs/cli.md', () => {
  const text = readFileSync(join(REPO_ROOT, 'docs/cli.md'), 'utf8');
  // Its table: | `command` | `--a`, `--b X` |
  const rows = new Map(
    [...text.matchAll(/^\| `clusterd ([^`]+)` \| (.*) \|$/gm)].map((m) => [
      m[1] as string,
      [...(m[2] as string).matchAll(/`([^`]+)`/g)].map((o) => (o[1] as string).replace(/\\\|/g, '|')),
    ]),
  );

  it('lists each command with exactly the options it takes', () => {
    expect([...rows.keys()].sort()).toEqual(COMMANDS.map((c) => c.name).sort());
    for (const spec of COMMANDS)
      expect(rows.get(spec.name), spec.name).toEqual(spec.options.map((o) => optionSynopsis(o, spec)));
  });
});
