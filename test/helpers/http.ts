import { request } from 'node:http';
import { createServer } from 'node:net';

export interface HttpResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One GET on a fresh connection (no keep-alive pool shared between requests). */
export function get(address: string, path = '/', timeoutMs = 10_000): Promise<HttpResult> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export async function getJson<T = Record<string, unknown>>(address: string, path = '/'): Promise<T> {
  const res = await get(address, path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as T;
}

/** A port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
