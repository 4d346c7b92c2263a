// The one warning a worker's settings can earn at run time: a server whose idle keep-alive sockets would
// outlive the drain (Fastify's keepAliveTimeout is 72 s, 65 s is usual behind load balancers; the
// default shutdown.timeout is 5 s). The worker reports it (preload.cts); the primary logs it once.
/** The warning for a worker whose server keeps idle sockets longer than the drain may last. */
export function keepAliveWarning(
  keepAliveTimeout: number,
  shutdownTimeout: number,
  graceMs: number,
): { message: string; fields: Record<string, number> } {
  const kept = keepAliveTimeout === 0 ? 'no keepAliveTimeout (0)' : `keepAliveTimeout ${keepAliveTimeout} ms`;
  return {
    message:
      `a server has ${kept}, longer than shutdown.timeout ${shutdownTimeout} ms: a drain closes its ` +
      `idle keep-alive connections itself ${graceMs} ms after it begins (and after the last response), ` +
      'before the timeout the server advertises to its clients',
    fields: { keepAliveTimeout, shutdownTimeout },
  };
}
