// Log files with size-based rotation (`logs.file` per app, and `start --detach`): FILE, FILE.1 ... FILE.N.
import { mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { createStream } from 'rotating-file-stream';

export function openLogFile(file: string, maxSize: number, maxFiles: number): Writable {
  mkdirSync(dirname(file), { recursive: true });
  const stream = createStream(basename(file), { path: dirname(file), size: `${maxSize}B`, rotate: maxFiles });
  // A log file that cannot be written must not take the process down; the console still has the lines.
  stream.on('error', (error) => process.stderr.write(`clusterd: cannot write ${file}: ${error.message}\n`));
  return stream;
}
