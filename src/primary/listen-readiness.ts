// Which listen makes a worker ready, with `readiness: "listening"` (either balancing). A worker
// may run more than one server (metrics, admin); the first one to listen is not always the app's.
// - When the worker's PORT is set, the listen on that port decides (PORT as a path: the listen on
//   that Unix socket); other servers' listens are ignored.
// - Otherwise the first listen decides, TCP, Unix socket or fd.
// Addresses are as clusterd reports them: `host:port`, or a path.

/** A predicate over listen addresses: does this one make the worker ready? */
export function readinessListen(port: string | undefined): (address: string) => boolean {
  const wanted = port?.trim();
  if (!wanted) return () => true;
  if (/^\d+$/.test(wanted)) {
    const number = Number(wanted);
    return (address) => Number(/:(\d+)$/.exec(address)?.[1]) === number;
  }
  return (address) => address === wanted;
}
