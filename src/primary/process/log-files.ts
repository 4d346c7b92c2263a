// An app's log files, in its primary: logs.file for stdout, logs.errorFile for stderr (else logs.file
// for both), with logs.timestamp. Opened at the app's start and changed by a reload that brings new
// settings (a config reload's roll), so a change of file, rotation or timestamp needs no restart;
// workers look their file up per chunk, so old and new workers write to the new one from then on.
import type { ResolvedApp, ResolvedLogs } from '../../config/resolved.js';
import type { LogOwner } from '../../log/open.js';
import { type Timestamp, timestampFormatter } from '../../log/timestamp.js';
import type { FileOutput } from './output.js';

type Stream = 'stdout' | 'stderr';

/** Where each stream of the app's output is written: stderr to errorFile when set, else with stdout. */
export function streamFiles(logs: ResolvedLogs): Record<Stream, string | null> {
  return { stdout: logs.file, stderr: logs.errorFile ?? logs.file };
}

/** A log file as opened (log/file.ts): never throws, never holds up its writer; `end` flushes it. */
export type OpenedFile = FileOutput['sink'] & { end(done: () => void): unknown };

/** Opens one log file; the owner is the app's when its workers run as another user. */
export type OpenFile = (file: string, logs: ResolvedLogs, owner: LogOwner | undefined) => OpenedFile;

// What a file is opened with: the same path opened with other settings is a file to open anew.
function settingsKey(file: string, logs: ResolvedLogs, owner: LogOwner | undefined): string {
  return JSON.stringify([file, logs.maxSize, logs.maxFiles, owner?.uid, owner?.gid]);
}

export class AppLogFiles {
  /** Open files by settingsKey: one per path, so file and errorFile naming one file share it. */
  private open = new Map<string, OpenedFile>();
  private outputs: Record<Stream, FileOutput | null> = { stdout: null, stderr: null };
  private timestampSetting: boolean | string = false;
  private timestamp: Timestamp | null = null;
  /** Files closed by a change, still flushing. */
  private readonly closing = new Set<Promise<void>>();

  constructor(private readonly openFile: OpenFile) {}

  /** The file `stream` goes to now, or null. */
  output(stream: Stream): FileOutput | null {
    return this.outputs[stream];
  }

  /** Opens what `app` names and closes what it no longer does; what did not change stays open. */
  update(app: ResolvedApp): void {
    const { logs } = app;
    // An app run as another user can read its own log (group), but not rewrite what it said (owner).
    const owner = app.runAs ? { uid: process.getuid?.() ?? 0, gid: app.runAs.gid } : undefined;
    if (logs.timestamp !== this.timestampSetting) {
      this.timestampSetting = logs.timestamp;
      this.timestamp = timestampFormatter(logs.timestamp);
    }
    const files = streamFiles(logs);
    const wanted = new Map<string, OpenedFile>();
    for (const stream of ['stdout', 'stderr'] as const) {
      const file = files[stream];
      if (file === null) {
        this.outputs[stream] = null;
        continue;
      }
      const key = settingsKey(file, logs, owner);
      let sink = wanted.get(key) ?? this.open.get(key);
      if (!sink) sink = this.openFile(file, logs, owner);
      wanted.set(key, sink);
      this.outputs[stream] = { sink, timestamp: this.timestamp };
    }
    for (const [key, sink] of this.open) if (!wanted.has(key)) this.finish(sink);
    this.open = wanted;
  }

  /** Flushes and closes every file; resolves once all are closed. */
  close(): Promise<unknown> {
    for (const sink of this.open.values()) this.finish(sink);
    this.open.clear();
    this.outputs = { stdout: null, stderr: null };
    return Promise.all(this.closing);
  }

  private finish(sink: OpenedFile): void {
    const done: Promise<void> = new Promise<void>((resolve) => sink.end(resolve)).then(() => {
      this.closing.delete(done);
    });
    this.closing.add(done);
  }
}
