// Log files: PM2 writes stdout and stderr to files of their own (out_file, error_file) or together
// (log_file); clusterd copies an app's output, both streams, to one file (logs.file) besides its own log.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Found } from './catalogue.js';
import type { AppMapping } from './mapping.js';
import { shownValue } from './values.js';

const DISCARD = new Set(['/dev/null', 'NULL']);
const OWN_LOG = "the output still reaches clusterd's own log (clusterd logs <app>)";

// PM2 expands a leading ~ (lib/Common.js resolveHome); clusterd takes paths as they are.
const expand = (path: string) => (path.startsWith('~') ? join(homedir(), path.slice(1)) : path);

function mapFiles(m: AppMapping) {
  const files = [m.take('log_file'), m.take('out_file'), m.take('error_file')];
  const usable = (f: Found | undefined) =>
    typeof f?.value === 'string' && f.value !== '' && !DISCARD.has(f.value);
  const chosen = files.find(usable);
  const file = chosen ? expand(chosen.value as string) : null;
  if (file) m.draft.logs = { file };
  const home = chosen && file !== chosen.value ? `; ~ expanded to ${homedir()}` : '';
  const [log, out, err] = files;
  for (const found of files) {
    if (!found) continue;
    const v = found.value;
    if (typeof v === 'boolean' && found === log) {
      if (v)
        m.unsupported(found, "PM2 picks a file under ~/.pm2/logs; give the file's path instead: logs.file");
      else m.mapped(found, '', 'off');
    } else if (typeof v !== 'string' || v === '') m.unsupported(found, `${shownValue(v)} is not a path`);
    else if (DISCARD.has(v)) m.changed(found, '', `no file; ${OWN_LOG}`);
    else if (found === chosen) {
      const both =
        found === log ? 'stdout and stderr, as the app writes them' : 'stdout and stderr both go there';
      if (found === log && !home) m.mapped(found, 'logs.file', both);
      else m.changed(found, 'logs.file', `${both}: clusterd writes one file per app${home}`);
    } else if (expand(v) === file) m.mapped(found, 'logs.file', 'the same file');
    else {
      const stream = found === out ? 'stdout' : found === err ? 'stderr' : 'the output';
      m.unsupported(found, `clusterd writes one file per app, ${file}: ${stream} goes there; ${OWN_LOG}`);
    }
  }
}

function mapFormat(m: AppMapping) {
  const merge = m.take('merge_logs');
  if (merge?.value === false)
    m.changed(merge, '', 'clusterd writes one file for all the workers; PM2 would write one per instance');
  else if (merge) m.mapped(merge, '', 'one file for all the workers, always');
  for (const found of [m.take('log_date_format'), m.take('time')]) {
    if (!found) continue;
    if (found.value === false) m.mapped(found, '', 'off');
    else
      m.unsupported(
        found,
        "logs.file gets the app's output as written, with no time added: log times from the app (pino, winston); clusterd's own log has a time on every line",
      );
  }
  const type = m.take('log_type');
  if (type)
    m.changed(
      type,
      '',
      "clusterd's own log is JSON lines off a terminal (or with --log-format json); logs.file keeps the app's output as written",
    );
  const disable = m.take('disable_logs');
  if (disable?.value === true)
    m.unsupported(
      disable,
      `clusterd always relays the app's output to its own log; without logs.file, no file is written`,
    );
  else if (disable) m.mapped(disable, '', 'off');
  const pid = m.take('pid_file');
  if (pid) m.unsupported(pid, "clusterd writes no pid files: clusterd status --json lists each worker's pid");
}

/** Maps log_file, out_file, error_file, merge_logs, the log formats, disable_logs and pid_file. */
export function mapLogs(m: AppMapping): void {
  mapFiles(m);
  mapFormat(m);
}
