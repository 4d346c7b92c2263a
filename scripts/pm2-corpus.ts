// `clusterd import pm2` on every real ecosystem file of test/fixtures/pm2-real (issue 27): each entry is
// copied to a fresh temp directory and imported there with -o -, with planted secrets in the
// environment; prints one line per entry and the totals. Run after `npm run build`:
//   node_modules/.bin/node scripts/pm2-corpus.ts
// test/import/pm2-real.test.ts uses the same functions and states what each entry should give.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO_ROOT = realpathSync(new URL('..', import.meta.url));
export const CORPUS_DIR = join(REPO_ROOT, 'test/fixtures/pm2-real');
export const BIN = join(REPO_ROOT, 'dist/cli/bin.js');

export interface CorpusEntry {
  /** The entry's directory under test/fixtures/pm2-real, e.g. `04-12521198-Ayush-guard`. */
  entry: string;
  repository: string;
  /** The ecosystem file's path in its repository, and so under the entry's directory. */
  path: string;
  commit: string;
  form: string;
  /** Whether PM2 itself loads the file as stored and starts its apps. */
  pm2Runs: boolean;
  /** Why PM2 could not, when it could not. */
  reason: string;
  /** `yes` when every app runs Node.js, `no` when none does, `mixed` otherwise. */
  node: 'yes' | 'no' | 'mixed';
}

/** The entries of SOURCES.md, in its order. */
export function readCorpus(dir = CORPUS_DIR): CorpusEntry[] {
  const text = readFileSync(join(dir, 'SOURCES.md'), 'utf8');
  const entries: CorpusEntry[] = [];
  for (const line of text.split('\n')) {
    if (!/^\| \d{2}-/.test(line)) continue;
    // Cells are separated by ` | `; a `|` inside a cell is written `\|`.
    const cells = line
      .slice(2, -2)
      .split(/ (?<!\\)\| /)
      .map((cell) => cell.replaceAll('\\|', '|').trim());
    const [entry, repository, path, commit, form, runs, node] = cells;
    if (!entry || !repository || !path || !commit || form === undefined || !runs || !node)
      throw new Error(`SOURCES.md: a row with missing cells: ${line}`);
    if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`SOURCES.md: ${entry}: not a commit: ${commit}`);
    if (node !== 'yes' && node !== 'no' && node !== 'mixed')
      throw new Error(`SOURCES.md: ${entry}: Node.js must be yes, no or mixed, not ${node}`);
    const pm2Runs = runs === 'yes';
    if (!pm2Runs && !runs.startsWith('no: '))
      throw new Error(`SOURCES.md: ${entry}: "PM2 runs it" must be yes, or no: with a reason`);
    entries.push({
      entry,
      repository,
      path,
      commit,
      form,
      pm2Runs,
      reason: pm2Runs ? '' : runs.slice(4),
      node,
    });
  }
  return entries;
}

/** The entry directories present under test/fixtures/pm2-real. */
export function corpusDirectories(dir = CORPUS_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** Secret values planted in the environment the ecosystem file is run in; new ones each run. */
export function plantSecrets(): Record<string, string> {
  return {
    CLUSTERD_CORPUS_SECRET: `s3cr3t-${randomBytes(12).toString('hex')}`,
    DB_PASS: `pw-${randomBytes(12).toString('hex')}`,
  };
}

/**
 * The environment the CLI runs in: what a shell needs and the planted secrets, nothing else of this
 * machine's (an ecosystem file may print process.env, and a failing test prints what it got).
 */
export function corpusEnv(secrets: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...secrets };
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli/bin.js ...args` in `cwd`; resolves once it has exited and closed its output. */
export function runCli(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 20_000,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A copy of the entry's directory in a fresh temp directory (the caller removes it). */
export function copyEntry(entry: CorpusEntry): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'clusterd-pm2-real-')));
  cpSync(join(CORPUS_DIR, entry.entry), dir, { recursive: true });
  return dir;
}

/** `clusterd import pm2 <path> -o -` in `dir` (a copy of the entry), from the repository's root. */
export function importEntry(entry: CorpusEntry, dir: string, env: NodeJS.ProcessEnv): Promise<CliRun> {
  return runCli(['import', 'pm2', entry.path, '-o', '-'], dir, env);
}

/** The last non-empty line of a text, or ''. */
export function lastLine(text: string): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines[lines.length - 1] ?? '';
}

/** Lines of stderr that say an app does not run Node.js ("not node", "runs Node.js apps only"). */
export function notNodeLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => /\bnot (a )?node(\.js)?\b/i.test(line) || /\bNode\.js apps only\b/i.test(line));
}

async function main(): Promise<void> {
  const entries = readCorpus();
  const secrets = plantSecrets();
  const env = corpusEnv(secrets);
  const totals = { clean: 0, incomplete: 0, refused: 0, machineOnly: 0, lost: 0 };
  const notNode: string[] = [];
  const leaks: string[] = [];
  const width = Math.max(...entries.map((e) => e.entry.length));
  console.log(`${'ENTRY'.padEnd(width)}  EXIT  PM2  LAST LINE OF STDERR`);
  for (const entry of entries) {
    const dir = copyEntry(entry);
    try {
      const r = await importEntry(entry, dir, env);
      if (r.code === 0) totals.clean += 1;
      else if (r.code === 2) {
        totals.incomplete += 1;
        // Exit 2 says why on its last line: behaviour lost, or only what this machine lacks (the corpus
        // holds no built scripts, no node_modules, and deploy paths such as /var/www do not exist here).
        if (/behaviour is lost|not everything was imported/.test(lastLine(r.stderr))) totals.lost += 1;
        else totals.machineOnly += 1;
      } else totals.refused += 1;
      if (entry.node === 'yes' && notNodeLines(r.stderr).length) notNode.push(entry.entry);
      const seen = r.stdout + r.stderr;
      if (Object.values(secrets).some((secret) => seen.includes(secret))) leaks.push(entry.entry);
      const exit = r.code === null ? String(r.signal) : String(r.code);
      const last = lastLine(r.stderr).slice(0, 160);
      console.log(
        `${entry.entry.padEnd(width)}  ${exit.padEnd(4)}  ${entry.pm2Runs ? 'yes' : 'no '}  ${last}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log('');
  console.log(
    `${entries.length} entries: ${totals.clean} clean (0), ${totals.incomplete} incomplete (2), ${totals.refused} refused`,
  );
  console.log(
    `of the exit 2: ${totals.machineOnly} with nothing lost (only what this machine lacks: a build, node_modules, a deploy path), ${totals.lost} with behaviour lost`,
  );
  console.log(
    `said "not Node.js" of an entry that runs Node.js: ${notNode.length ? notNode.join(', ') : 'none'}`,
  );
  console.log(`a planted secret on stdout or stderr: ${leaks.length ? leaks.join(', ') : 'none'}`);
}

if (import.meta.main) await main();
