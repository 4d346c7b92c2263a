// HTTP to a real root's dashboard: one request on its own connection, and server-sent event streams read
// as they come (a test waits for the event it needs, never a fixed time).
import { type IncomingMessage, request } from 'node:http';
import type { Root } from './root.js';
import { Waiters } from './waiters.js';

export interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** The health server's address from the root's start event, as 127.0.0.1:port (also when it binds 0.0.0.0). */
export async function dashboardAddress(root: Root): Promise<string> {
  const started = await root.waitFor((e) => typeof e.health === 'string', 'the health address');
  const port = String(started.health).slice(String(started.health).lastIndexOf(':') + 1);
  return `127.0.0.1:${port}`;
}

function split(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

export function call(
  address: string,
  method: string,
  path: string,
  options: {
    headers?: Record<string, string>;
    body?: string;
    timeoutMs?: number;
    localAddress?: string;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...split(address),
        method,
        path,
        agent: false,
        headers: options.headers ?? {},
        timeout: options.timeoutMs ?? 30_000,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface SseMessage {
  event: string;
  data: string;
}

export class SseStream {
  readonly messages: SseMessage[] = [];
  status = 0;
  closed = false;
  private readonly waiters = new Waiters();
  private req: ReturnType<typeof request>;

  constructor(address: string, path: string, headers: Record<string, string> = {}) {
    let pending = '';
    this.req = request({ ...split(address), path, agent: false, headers }, (res) => {
      this.status = res.statusCode ?? 0;
      res.setEncoding('utf8').on('data', (chunk: string) => {
        pending += chunk;
        let end = pending.indexOf('\n\n');
        while (end !== -1) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n');
          if (event) this.messages.push({ event, data });
          end = pending.indexOf('\n\n');
        }
        this.waiters.notify();
      });
      res.on('close', () => {
        this.closed = true;
        this.waiters.notify();
      });
      this.waiters.notify();
    });
    this.req.on('error', () => {
      this.closed = true;
      this.waiters.notify();
    });
    this.req.end();
  }

  /** The first message (from `from` on) that matches, parsed. */
  next<T = unknown>(
    match: (m: SseMessage) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<{ index: number; value: T }> {
    return this.waiters.until(
      () => {
        const index = this.messages.findIndex(match);
        return index === -1
          ? undefined
          : { index, value: JSON.parse((this.messages[index] as SseMessage).data) as T };
      },
      () => (this.closed ? `the stream closed before ${what}` : null),
      () => `timed out waiting for ${what}`,
      timeoutMs,
    );
  }

  close(): void {
    this.req.destroy();
  }
}
