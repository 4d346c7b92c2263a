// Which listen makes a worker ready, with `readiness: "listening"` (either balancing). A worker
// may run more than one server (metrics, admin); the first one to listen is not always the app's.
// - When the app's env (its config) sets PORT, the listen on that port decides (PORT as a path: the
//   listen on that Unix socket); other servers' listens are ignored. A PORT inherited from clusterd's own
//   environment does not count: it may be meant for anything, and would leave such an app never ready.
// - Otherwise (PORT unset, or 0: any free port) the first listen decides, TCP, Unix socket or fd.
// Addresses are as clusterd reports them: `host:port`, or a path.

/** A predicate over listen addresses: does this one make the worker ready? */
export function readinessListen(port: string | undefined): (address: string) => boolean {
  const wanted = port?.trim();
  // PORT=0 asks for any free port: the listen it gets is not known in advance.
  if (!wanted || /^0+$/.test(wanted)) return () => true;
  if (/^\d+$/.test(wanted)) {
    const number = Number(wanted);
    return (address) => Number(/:(\d+)$/.exec(address)?.[1]) === number;
  }
  return (address) => address === wanted;
}
