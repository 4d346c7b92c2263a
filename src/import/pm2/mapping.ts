// The state of one PM2 app being mapped: the clusterd app built so far, and a verdict for every option
// taken. Each option is taken once; whatever no mapper took is reported, so no option goes unjudged.
import { resolve } from 'node:path';
import type { App, Restart, Shutdown, WatchOptions } from '../../config/types.generated.js';
import { type Found, type Pm2Option, type SortedOptions, sortOptions } from './catalogue.js';

/**
 * `mapped`: runs as under PM2; `changed`: runs differently, nothing lost (the note says how);
 * `ignored`: PM2 does nothing with it either when the app runs (an unknown key, `deploy`);
 * `unsupported`: behaviour is lost (the note says what to do instead). Only the last makes import exit 2.
 */
export type VerdictKind = 'mapped' | 'changed' | 'ignored' | 'unsupported';

/** What became of one PM2 option. */
export interface Verdict {
  /** The app's clusterd name, or null for a key outside the apps (deploy, static). */
  app: string | null;
  /** The PM2 option as written in the file (or a description of a PM2 default in parentheses). */
  option: string;
  kind: VerdictKind;
  /** The clusterd key(s) it became; '' for none. */
  target: string;
  /** How its meaning changed, or why it is not supported and what to do instead. */
  note: string;
}

/** The app under construction: every key optional until the mappers are done. */
export type Draft = Partial<App>;

export class AppMapping {
  readonly draft: Draft = {};
  readonly verdicts: Verdict[] = [];
  /** Why the whole app cannot be imported, once a mapper decided so. */
  dropped: string | null = null;
  /**
   * Set once the app is found to be a program that is not Node.js (`command`): the interpreter PM2
   * runs its script with, or null when PM2 runs the script itself (interpreter "none", a binary).
   */
  program: { interpreter: string | null } | null = null;
  /** The app's clusterd name, once mapped; verdicts carry it. */
  name = '';
  /** Absolute path of the app's working directory: its `cwd`, from the project root. */
  readonly dir: string;
  /** The project root: where `pm2 start` ran, which PM2 takes relative paths from. */
  readonly root: string;
  private readonly sorted: SortedOptions;
  private readonly taken = new Set<Pm2Option>();

  constructor(raw: Record<string, unknown>, baseDir: string) {
    this.sorted = sortOptions(raw);
    const cwd = this.sorted.options.get('cwd')?.value;
    this.root = baseDir;
    this.dir = resolve(baseDir, typeof cwd === 'string' ? cwd : '.');
  }

  /** The option, if the app sets it; marks it as judged by the caller. */
  take(option: Pm2Option): Found | undefined {
    this.taken.add(option);
    return this.sorted.options.get(option);
  }

  /** Looks at an option without taking it. */
  peek(option: Pm2Option): Found | undefined {
    return this.sorted.options.get(option);
  }

  environments(): Found[] {
    return this.sorted.environments;
  }

  /** Options no mapper took, then alias duplicates, null values and unknown keys. */
  leftovers(): Pick<SortedOptions, 'shadowed' | 'unset' | 'unknown'> & { untaken: Found[] } {
    const untaken = [...this.sorted.options].filter(([o]) => !this.taken.has(o)).map(([, f]) => f);
    const { shadowed, unset, unknown } = this.sorted;
    return { untaken, shadowed, unset, unknown };
  }

  verdict(option: Found | string, kind: VerdictKind, target: string, note = ''): void {
    const name = typeof option === 'string' ? option : option.key;
    this.verdicts.push({ app: this.name, option: name, kind, target, note });
  }

  mapped(option: Found | string, target: string, note = ''): void {
    this.verdict(option, 'mapped', target, note);
  }

  changed(option: Found | string, target: string, note: string): void {
    this.verdict(option, 'changed', target, note);
  }

  ignored(option: Found | string, note: string): void {
    this.verdict(option, 'ignored', '', note);
  }

  unsupported(option: Found | string, note: string): void {
    this.verdict(option, 'unsupported', '', note);
  }

  /** The app cannot run under clusterd: the option that rules it out is the verdict. */
  drop(option: Found | string, note: string): void {
    this.dropped ??= note;
    this.unsupported(option, `${note}; the app is not imported`);
  }

  restart(): Restart {
    this.draft.restart ??= {};
    return this.draft.restart;
  }

  shutdown(): Shutdown {
    this.draft.shutdown ??= {};
    return this.draft.shutdown;
  }

  /** The watch settings as an object (`watch: true` becomes `{}` and is written back as true). */
  watch(): WatchOptions {
    if (typeof this.draft.watch !== 'object') this.draft.watch = {};
    return this.draft.watch;
  }
}
