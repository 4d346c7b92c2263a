// docs/images/monit.png: `clusterd monit` on `npm start`'s app under load, as a terminal shows it. It runs
// the example config, a steady load (autocannon, ends by itself), and monit in a real terminal (tmux,
// 120x40), selects worker 1 after the sparklines have filled, captures the screen with its colours
// (capture-pane -e), turns that into HTML and has Chromium (Debian's, headless) take the picture.
// Run: npm run build && node scripts/monit-picture.ts   (needs tmux and /usr/bin/chromium; port 3000 free)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'dist/cli/bin.js');
const OUT = join(ROOT, 'docs/images/monit.png');
const [COLUMNS, ROWS] = [120, 40];

const ESC = '\x1b';
const SGR = new RegExp(`${ESC}\\[([0-9;]*)m`, 'g');
const COLOURS: Record<string, string> = { 31: '#e06c75', 32: '#98c379', 33: '#e5c07b', 36: '#56b6c2' };
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The terminal's lines, with the SGR sequences tmux gives (bold, dim, reverse, colours), as HTML. */
function html(lines: string[]): string {
  let bold = false;
  let dim = false;
  let reverse = false;
  let fg: string | null = null;
  const body = lines
    .map((line) => {
      let out = '';
      let last = 0;
      const text = (s: string) => {
        if (!s) return;
        const color = fg ?? '#d7dae0';
        const [f, b] = reverse ? ['#1e2127', color] : [color, 'transparent'];
        out += `<span style="color:${f};background:${b};${bold ? 'font-weight:bold;' : ''}${dim ? 'opacity:.55;' : ''}">${escapeHtml(s)}</span>`;
      };
      for (const m of line.matchAll(SGR)) {
        text(line.slice(last, m.index));
        last = (m.index ?? 0) + m[0].length;
        for (const code of (m[1] || '0').split(';')) {
          if (code === '0') [bold, dim, reverse, fg] = [false, false, false, null];
          else if (code === '1') bold = true;
          else if (code === '2') dim = true;
          else if (code === '22') [bold, dim] = [false, false];
          else if (code === '7') reverse = true;
          else if (code === '27') reverse = false;
          else if (code === '39') fg = null;
          else if (COLOURS[code]) fg = COLOURS[code] as string;
        }
      }
      text(line.slice(last));
      return out;
    })
    .join('\n');
  return `<!doctype html><meta charset="utf-8"><style>body{margin:0;background:#1e2127}pre{margin:0;padding:10px;font:14px/17px "DejaVu Sans Mono",monospace;color:#d7dae0}</style><pre>${body}</pre>`;
}

const dir = mkdtempSync(join(tmpdir(), 'clusterd-monit-picture-'));
const socket = `clusterd-monit-picture-${process.pid}`;
const tmux = (args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const clusterd = spawn(process.execPath, [BIN, 'start', 'cluster.config.example.json'], {
  cwd: ROOT,
  stdio: 'ignore',
});
try {
  await sleep(3_000);
  const load = autocannon(
    { url: 'http://127.0.0.1:3000/', connections: 8, overallRate: 3_000, duration: 45 },
    () => {},
  );
  tmux([
    '-f',
    '/dev/null',
    'new-session',
    '-d',
    '-s',
    'p',
    '-x',
    String(COLUMNS),
    '-y',
    String(ROWS),
    '-c',
    ROOT,
    'env',
    'TERM=xterm-256color',
    process.execPath,
    BIN,
    'monit',
  ]);
  await sleep(25_000);
  tmux(['send-keys', '-t', 'p', 'Down', 'Down']);
  await sleep(10_000);
  const screen = tmux(['capture-pane', '-p', '-e', '-t', 'p']).split('\n').slice(0, ROWS);
  load.stop();
  const page = join(dir, 'monit.html');
  writeFileSync(page, html(screen));
  execFileSync(
    '/usr/bin/chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      `--user-data-dir=${join(dir, 'profile')}`,
      `--window-size=${COLUMNS * 9 + 20},${ROWS * 17 + 20}`,
      `--screenshot=${OUT}`,
      `file://${page}`,
    ],
    { stdio: 'ignore' },
  );
  console.log(`written to ${OUT}`);
} finally {
  try {
    tmux(['kill-server']);
  } catch {}
  clusterd.kill('SIGTERM');
}
