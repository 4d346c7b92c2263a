// `start --health [host:]port`: the health server's address from the command line, over the config's.
import { HEALTH_DEFAULTS } from '../config/defaults.js';
import type { ResolvedHealth } from '../config/resolved.js';

/** `9100`, `0.0.0.0:9100`, `[::]:9100`; a message that says what is wrong, or the address. */
export function parseHealthFlag(value: string): { host?: string; port: number } | string {
  const match = /^(?:(\[[0-9A-Fa-f:.]+\]|[^:[\]\s]+):)?(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65535)
    return `--health takes [host:]port (9100, 0.0.0.0:9100, [::1]:9100), got "${value}"`;
  const host = match[1]?.replace(/^\[(.*)\]$/, '$1');
  return host === undefined ? { port } : { host, port };
}

/** The health server to run: the config's, with the flag's address over it; null when neither asks. */
export function healthSettings(
  config: ResolvedHealth | null,
  flag: { host?: string; port: number } | undefined,
): ResolvedHealth | null {
  if (!flag) return config;
  return { ...HEALTH_DEFAULTS, ...config, ...flag };
}
