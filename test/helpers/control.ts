// Requests on a running root's control socket straight from the test (no CLI process to start), for
// tests that must know a request has arrived: a command that waits answers `accepted` first.
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Root } from './root.js';

export function socketOf(root: Root): string {
  const dir = join(String(root.env.XDG_RUNTIME_DIR), 'clusterd');
  const [file] = readdirSync(dir).filter((f) => f.endsWith('.sock'));
  return join(dir, String(file));
}

export type ControlLine = Record<string, unknown> & { id?: unknown };

/** Sends one request; `accepted` resolves with its first line, `answer` with its last. */
export function ask(socket: string, request: Record<string, unknown>) {
  const lines: ControlLine[] = [];
  let first: (line: ControlLine) => void = () => {};
  let last: (line: ControlLine) => void = () => {};
  const accepted = new Promise<ControlLine>((resolve) => {
    first = resolve;
  });
  const answer = new Promise<ControlLine>((resolve, reject) => {
    last = resolve;
    const peer = connect(socket);
    let buffer = '';
    peer.setEncoding('utf8');
    peer.on('connect', () => peer.write(`${JSON.stringify({ v: 1, ...request })}\n`));
    peer.on('data', (chunk: string) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const part of parts) {
        const line = JSON.parse(part) as ControlLine;
        lines.push(line);
        if (lines.length === 1) first(line);
        if ('ok' in line) {
          peer.end();
          last(line);
        }
      }
    });
    peer.on('error', reject);
  });
  return { accepted, answer, lines };
}
