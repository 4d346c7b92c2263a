// A shell command line that starts Node.js (`NODE_ENV=production node --enable-source-maps server.js
// --port 3000`), read into what clusterd runs: the env it sets, Node's options, the script and its
// arguments. PM2 runs a `script` with spaces through `bash -c`, and npm runs package.json scripts
// through `sh -c`: both are read here. Anything a shell would do more (pipes, `&&`, expansions) is a
// reason to give up, not to guess.

export interface NodeCommand {
  env: Record<string, string>;
  nodeArgs: string[];
  script: string;
  args: string[];
}

export type ParsedCommand = { ok: true; command: NodeCommand } | { ok: false; reason: string };

/** Splits a command line into words as sh does for plain words and quotes; null if a quote is open. */
export function shellWords(text: string): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return null;
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let out = '';
      let j = i + 1;
      for (; j < text.length && text.charAt(j) !== '"'; j += 1) {
        if (text.charAt(j) === '\\' && /["\\$`]/.test(text.charAt(j + 1))) j += 1;
        out += text.charAt(j);
      }
      if (j >= text.length) return null;
      word = (word ?? '') + out;
      i = j;
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text.charAt(i + 1);
      i += 1;
    } else word = (word ?? '') + c;
  }
  if (word !== null) words.push(word);
  return words;
}

/** Node.js options whose value is the next word when not given with `=`. */
const VALUE_OPTIONS = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-C',
  '--conditions',
  '--title',
  '--env-file',
  '--input-type',
  '--inspect-port',
]);
const EVAL_OPTIONS = new Set(['-e', '--eval', '-p', '--print', '-i', '--interactive', '-']);
const SHELL_SYNTAX = /[|&;<>()`$]/;
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

const isNode = (word: string) => /(^|\/)(node|nodejs)(\.exe)?$/.test(word);

/**
 * Programs that run a file in Node.js with a loader, and the Node.js options that do the same:
 * `tsx src/index.ts` is `node --import tsx src/index.ts` (tsx's own docs).
 */
export type Loaders = Readonly<Record<string, readonly string[]>>;

/**
 * Reads a command line that runs a Node.js file, or says why it is not one. With `loaders`, a command
 * line that starts one of them counts as node with its options.
 */
export function parseNodeCommand(line: string, loaders: Loaders = {}): ParsedCommand {
  const unquoted = line.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, '');
  if (SHELL_SYNTAX.test(unquoted))
    return { ok: false, reason: 'it is a shell command line (pipes, &&, redirections or expansions)' };
  const words = shellWords(line);
  if (words === null) return { ok: false, reason: 'it has an unclosed quote' };
  const env: Record<string, string> = {};
  let i = 0;
  for (;;) {
    const word = words[i];
    if (word === undefined) break;
    const assignment = ASSIGNMENT.exec(word);
    if (assignment) env[assignment[1] as string] = assignment[2] as string;
    else if (word !== 'cross-env' && word !== 'env' && word !== 'exec') break;
    i += 1;
  }
  const program = words[i];
  if (program === undefined) return { ok: false, reason: 'it runs no program' };
  const loader = loaders[program.split('/').pop() ?? ''];
  if (!isNode(program) && !loader) return { ok: false, reason: `it runs "${program}", not node` };
  // `tsx watch`: a development watcher, no file to run.
  if (loader && words[i + 1] === 'watch')
    return { ok: false, reason: `"${program} watch" restarts on changes; clusterd start --watch does that` };
  const parsed = nodeOptions(words.slice(i + 1));
  if (!parsed.ok) return parsed;
  return {
    ok: true,
    command: {
      env,
      nodeArgs: [...(loader ?? []), ...parsed.nodeArgs],
      script: parsed.script,
      args: parsed.rest,
    },
  };
}

/** Node.js's options, then the script and its arguments, from what follows `node` on a command line. */
export function nodeOptions(
  words: readonly string[],
): { ok: true; nodeArgs: string[]; script: string; rest: string[] } | { ok: false; reason: string } {
  const nodeArgs: string[] = [];
  let i = 0;
  for (; i < words.length; i += 1) {
    const word = words[i] as string;
    if (word === '--') {
      i += 1;
      break;
    }
    if (!word.startsWith('-')) break;
    if (EVAL_OPTIONS.has(word)) return { ok: false, reason: `node ${word} runs code given inline, no file` };
    nodeArgs.push(word);
    const value = words[i + 1];
    if (VALUE_OPTIONS.has(word) && value !== undefined) {
      nodeArgs.push(value);
      i += 1;
    }
  }
  const script = words[i];
  if (script === undefined) return { ok: false, reason: 'it starts node without a script' };
  return { ok: true, nodeArgs, script, rest: words.slice(i + 1) };
}
