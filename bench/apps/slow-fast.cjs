// The seed scenario of issue 15 as a plain node:http app: `/slow?ms=N` keeps its worker's event loop
// busy for N ms (CPU-bound work, as a report or an image resize); any other path (`/fast`) answers at
// once; both answer with the worker's pid. `/slow` sends its headers first, so a client knows the loop
// has begun.
const http = require('node:http');

http
  .createServer((req, res) => {
    if (!req.url.startsWith('/slow')) return res.end(`${process.pid}\n`);
    const ms = Number(new URL(req.url, 'http://localhost').searchParams.get('ms') ?? 1500);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.flushHeaders();
    const until = Date.now() + ms;
    while (Date.now() < until);
    res.end(`${process.pid}\n`);
  })
  .listen(Number(process.env.PORT ?? 0), '127.0.0.1');
