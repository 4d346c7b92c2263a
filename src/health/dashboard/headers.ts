// The headers of every dashboard response, and the server-sent events' framing. Pure.

/** Nothing runs or loads but this server's own files; no frame, no base, forms post here only. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * One server-sent event: `event: name`, then the data, one `data:` line per line of it (a line break in
 * the data cannot end the event early nor start a field of its own).
 */
export function sseEvent(event: string, data: string): string {
  const lines = data.split(/\r\n|\r|\n/);
  return `event: ${event.replace(/[\r\n]/g, '')}\n${lines.map((l) => `data: ${l}\n`).join('')}\n`;
}

/** A comment: keeps an idle stream's connection open through proxies, and is ignored by the page. */
export const SSE_KEEPALIVE = ': keep-alive\n\n';
