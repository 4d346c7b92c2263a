// The hello app whose every response takes 200 ms: requests are always in flight during a reload.
const http = require('node:http');

http
  .createServer((_req, res) => setTimeout(() => res.end('hello\n'), 200))
  .listen(Number(process.env.PORT ?? 0), '127.0.0.1');
