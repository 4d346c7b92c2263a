// Log files: PM2 writes stdout and stderr to files of their own (out_file, error_file), and both to a
// third (log_file); clusterd writes stdout to logs.file and stderr to logs.errorFile, or both to
// logs.file. `time` and `log_date_format` put a time on every line, as logs.timestamp does.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Found } from './catalogue.js';
import type { AppMapping } from './mapping.js';
import { shownValue } from './values.js';

const DISCARD = new Set(['/dev/null', 'NULL']);
const OWN_LOG = "the output still reaches clusterd's own log (clusterd logs <app>)";
/** The format PM2 gives `time: true` (lib/Common.js, verifyConfs), replacing any log_date_format. */
export const PM2_TIME_FORMAT = 'YYYY-MM-DDTHH:mm:ss';
/** Where the time goes on a line: clusterd keeps its own line format in the files. */
const PLACED =
  'the time is the "timestamp" field of clusterd\'s JSON lines (or starts a pretty line), where PM2 writes "TIME: " before the bare line';

// PM2 expands a leading ~ (lib/Common.js resolveHome); clusterd takes paths as they are.
const expand = (path: string) => (path.startsWith('~') ? join(homedir(), path.slice(1)) : path);

type Kind = 'path' | 'discard' | 'invalid';

function kindOf(found: Found): Kind {
  const v = found.value;
  if (typeof v !== 'string' || v === '') return 'invalid';
  return DISCARD.has(v) ? 'discard' : 'path';
}

// A path written down with ~ expanded is this machine's: the verdict says so.
const expanded = (found: Found) =>
  expand(found.value as string) === found.value ? '' : `; ~ expanded to ${homedir()}`;

function pathVerdict(m: AppMapping, found: Found, target: string, note: string): void {
  if (expanded(found)) m.changed(found, target, `${note}${expanded(found)}`);
  else m.mapped(found, target, note);
}

// log_file: stdout and stderr together. out_file and error_file beside it would be files of one stream
// each, which clusterd cannot write besides the combined one.
function mapCombined(m: AppMapping, log: Found, out: Found | undefined, err: Found | undefined): void {
  const file = expand(log.value as string);
  m.draft.logs = { file };
  pathVerdict(m, log, 'logs.file', 'stdout and stderr');
  for (const [found, stream] of [
    [out, 'stdout'],
    [err, 'stderr'],
  ] as const) {
    if (!found) continue;
    const kind = kindOf(found);
    if (kind === 'invalid') m.unsupported(found, `${shownValue(found.value)} is not a path`);
    else if (kind === 'discard')
      m.mapped(found, '', `no file of ${stream} alone; it goes to log_file's file, as in PM2`);
    else if (expand(found.value as string) === file) m.mapped(found, 'logs.file', 'the same file');
    else
      m.unsupported(
        found,
        `clusterd writes ${stream} with the other stream to log_file's file, ${file}, and no file of ${stream} alone; ${OWN_LOG}`,
      );
  }
}

function mapSeparate(m: AppMapping, out: Found | undefined, err: Found | undefined): void {
  const outKind = out && kindOf(out);
  const errKind = err && kindOf(err);
  const file = outKind === 'path' ? expand(out?.value as string) : null;
  const errorFile = errKind === 'path' ? expand(err?.value as string) : null;
  const pm2Default = (stream: string) => `~/.pm2/logs/${m.name || '<name>'}-${stream}.log`;
  if (out) {
    if (outKind === 'invalid') m.unsupported(out, `${shownValue(out.value)} is not a path`);
    else if (outKind === 'discard') {
      if (errKind === 'path' || errKind === 'discard') m.mapped(out, '', `no file of stdout; ${OWN_LOG}`);
      else
        m.changed(
          out,
          '',
          `no file; stderr goes to no file either (PM2: ${pm2Default('error')}); ${OWN_LOG}`,
        );
    } else if (errKind === 'path' || errKind === 'discard')
      pathVerdict(m, out, 'logs.file', errorFile === file ? 'stdout and stderr' : 'stdout');
    else
      m.changed(
        out,
        'logs.file',
        `stdout, and stderr too: PM2 writes stderr to ${pm2Default('error')} when error_file is not set${expanded(out)}`,
      );
  }
  if (err) {
    if (errKind === 'invalid') m.unsupported(err, `${shownValue(err.value)} is not a path`);
    else if (errKind === 'discard') {
      // A device is written as it is: /dev/null keeps stderr out of logs.file, as PM2 does.
      if (file) m.mapped(err, 'logs.errorFile', `"/dev/null": no file of stderr; ${OWN_LOG}`);
      else if (outKind === 'discard') m.mapped(err, '', `no file; ${OWN_LOG}`);
      else
        m.changed(err, '', `no file; stdout goes to no file either (PM2: ${pm2Default('out')}); ${OWN_LOG}`);
    } else if (errorFile === file) m.mapped(err, 'logs.file', 'the same file: stdout and stderr');
    else if (file || outKind === 'discard') pathVerdict(m, err, 'logs.errorFile', 'stderr');
    else
      m.changed(
        err,
        'logs.errorFile',
        `stderr; stdout goes to no file (PM2 writes it to ${pm2Default('out')} when out_file is not set): set logs.file for one${expanded(err)}`,
      );
  }
  const logs: { file?: string; errorFile?: string } = {};
  if (file) logs.file = file;
  if (errorFile && errorFile !== file) logs.errorFile = errorFile;
  else if (file && errKind === 'discard') logs.errorFile = '/dev/null';
  if (logs.file || logs.errorFile) m.draft.logs = logs;
}

function mapFiles(m: AppMapping): void {
  const log = m.take('log_file');
  const out = m.take('out_file');
  const err = m.take('error_file');
  if (log && kindOf(log) === 'path') {
    mapCombined(m, log, out, err);
    return;
  }
  if (log) {
    const v = log.value;
    if (v === true)
      m.unsupported(log, "PM2 picks a file under ~/.pm2/logs; give the file's path instead: logs.file");
    else if (v === false) m.mapped(log, '', 'off');
    else if (kindOf(log) === 'discard') m.mapped(log, '', 'no combined file');
    else m.unsupported(log, `${shownValue(v)} is not a path`);
  }
  mapSeparate(m, out, err);
}

// PM2 stamps a line when `log_date_format` is set, and `time: true` sets it to its own format.
function mapTime(m: AppMapping): void {
  const time = m.take('time');
  const format = m.take('log_date_format');
  const files = m.draft.logs ? '' : '; it applies once logs.file or logs.errorFile is set';
  const stamp = (value: string) => {
    m.draft.logs = { ...m.draft.logs, timestamp: value };
  };
  if (time?.value) {
    stamp(PM2_TIME_FORMAT);
    m.changed(
      time,
      'logs.timestamp',
      `"${PM2_TIME_FORMAT}" (local time), PM2's format for time; ${PLACED}${files}`,
    );
    if (format) m.mapped(format, '', 'ignored, as PM2 ignores it when time is set: its own format wins');
    return;
  }
  if (time) m.mapped(time, '', 'off');
  if (!format) return;
  const v = format.value;
  if (v === '' || v === false) m.mapped(format, '', 'off');
  else if (typeof v !== 'string') m.unsupported(format, `${shownValue(v)} is not a format`);
  else if (/[\p{Cc}]/u.test(v) || v.length > 200)
    m.unsupported(format, 'a format clusterd takes has one line of at most 200 characters');
  else {
    stamp(v);
    m.changed(format, 'logs.timestamp', `kept: clusterd reads day.js tokens as PM2 does; ${PLACED}${files}`);
  }
}

function mapFormat(m: AppMapping): void {
  const merge = m.take('merge_logs');
  if (merge?.value === false)
    m.changed(merge, '', 'clusterd writes one file for all the workers; PM2 would write one per instance');
  else if (merge) m.mapped(merge, '', 'one file for all the workers, always');
  const type = m.take('log_type');
  if (type)
    m.changed(
      type,
      '',
      'the log files get the lines as clusterd writes its own: JSON lines off a terminal (or with --log-format json), with msg, app, worker, stream and time',
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

/** Maps log_file, out_file, error_file, time, log_date_format, merge_logs, log_type, disable_logs, pid_file. */
export function mapLogs(m: AppMapping): void {
  mapFiles(m);
  mapTime(m);
  mapFormat(m);
}
