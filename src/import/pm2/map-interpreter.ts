// The interpreter of a PM2 app (`interpreter`, `exec_interpreter`): which kind it is, and the Node.js
// options it stands for (a loader such as tsx or ts-node); for a TypeScript file without one, the loader
// the project has. What runs with it is map-process.ts's; an interpreter that is not Node.js makes the
// app a program (map-program.ts).
import { basename } from 'node:path';
import type { Found } from './catalogue.js';
import { type LaunchContext, LOADERS } from './launch.js';
import type { AppMapping } from './mapping.js';
import { shownValue } from './values.js';

// The interpreters PM2 picks by extension when none is given (lib/API/interpreter.json), besides node.
export const BY_EXTENSION: Record<string, string> = {
  '.sh': 'bash',
  '.py': 'python',
  '.rb': 'ruby',
  '.php': 'php',
  '.pl': 'perl',
  '.coffee': 'coffee',
  '.ls': 'lsc',
  '.tsx': 'bun',
};
/** TypeScript files, which PM2 runs with Bun when no interpreter is given. */
export const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);

export type Interpreter = 'node' | 'other-node' | 'bun' | 'loader' | 'npx' | 'none' | 'other';

function interpreterKind(value: string): Interpreter {
  if (value === 'node' || value === 'nodejs') return 'node';
  if (value === 'none') return 'none';
  if (/^node@/.test(value) || /(^|\/)node(js)?(\.exe)?$/.test(value)) return 'other-node';
  if (/(^|\/)bun$/.test(value)) return 'bun';
  if (LOADERS[basename(value)]) return 'loader';
  if (/^(npx|pnpx|bunx)$/.test(basename(value))) return 'npx';
  return 'other';
}

/** The interpreter's kind, and its verdict for when the app runs on Node.js (pushed once that is known). */
export interface InterpreterUse {
  kind: Interpreter;
  judge: () => void;
}

export const NO_VERDICT = () => {};

// The interpreter, and the Node.js options it stands for (a loader: at once, as the script's launch adds
// its own after them); null when the app is dropped. "none" and the interpreters that are not Node.js
// are judged with the script (mapScript): the app becomes a program, or "none" leads to a Node.js file.
export function mapInterpreter(m: AppMapping, found: Found | undefined): InterpreterUse | null {
  if (!found) return { kind: 'node', judge: NO_VERDICT };
  if (typeof found.value !== 'string' || found.value.trim() === '') {
    m.drop(found, `${shownValue(found.value)} is not an interpreter (a program's name or path)`);
    return null;
  }
  const value = found.value;
  const kind = interpreterKind(value);
  switch (kind) {
    case 'node':
      return { kind, judge: () => m.mapped(found, '', 'workers run on the Node.js that runs clusterd') };
    case 'other-node':
      return {
        kind,
        judge: () =>
          m.changed(found, '', `workers run on the Node.js that runs clusterd, not on ${shownValue(value)}`),
      };
    case 'bun':
      return {
        kind,
        judge: () =>
          m.changed(found, '', 'workers run on Node.js, not Bun: check that the app uses no Bun APIs'),
      };
    case 'loader': {
      const loader = LOADERS[basename(value)] as readonly string[];
      m.draft.nodeArgs = [...loader, ...(m.draft.nodeArgs ?? [])];
      return { kind, judge: () => m.changed(found, 'nodeArgs', withLoader(basename(value), loader)) };
    }
    case 'npx': {
      // `interpreter: 'npx', interpreter_args: 'tsx'`: PM2 runs npx tsx <script>.
      const [first, ...rest] = m.draft.nodeArgs ?? [];
      const loader = first === undefined ? undefined : LOADERS[first];
      // npx runs another program (not a loader clusterd knows): the command PM2 spawns, as a program.
      if (!loader) return { kind: 'other', judge: NO_VERDICT };
      m.draft.nodeArgs = [...loader, ...rest];
      return { kind, judge: () => m.changed(found, 'nodeArgs', withLoader(`npx ${first}`, loader)) };
    }
    case 'none':
      return {
        kind,
        judge: () =>
          m.changed(
            found,
            '',
            'PM2 runs the script as a program; clusterd runs the Node.js file it leads to',
          ),
      };
    default:
      return { kind, judge: NO_VERDICT };
  }
}

export const loaderPackage = (loader: readonly string[]) => (loader[1] ?? '').split('/')[0] ?? '';

/** What `runner` (tsx, npx tsx...) becomes: the same file in Node.js with that loader. */
const withLoader = (runner: string, loader: readonly string[]) =>
  `${runner} runs the file in Node.js with its loader: node ${loader.join(' ')} (keep ${loaderPackage(loader)} installed)`;

// A TypeScript file without an interpreter: PM2 runs it with Bun. The project's own loader when it has
// one; Node.js's type stripping otherwise, which cannot run code that needs a transform (decorators).
export function typescriptLoader(ctx: LaunchContext): readonly string[] | null {
  const pkg = ctx.readJson('package.json');
  const deps = (field: string) => {
    const v = typeof pkg === 'object' && pkg !== null ? (pkg as Record<string, unknown>)[field] : null;
    return typeof v === 'object' && v !== null ? Object.keys(v) : [];
  };
  const all = new Set([...deps('dependencies'), ...deps('devDependencies')]);
  if (all.has('tsx')) return LOADERS.tsx as readonly string[];
  if (all.has('ts-node')) return LOADERS['ts-node'] as readonly string[];
  return null;
}

export function needsTransform(ctx: LaunchContext): boolean {
  const conf = ctx.readJson('tsconfig.json');
  const options =
    typeof conf === 'object' && conf !== null
      ? (conf as { compilerOptions?: Record<string, unknown> }).compilerOptions
      : undefined;
  return options?.experimentalDecorators === true || options?.emitDecoratorMetadata === true;
}
