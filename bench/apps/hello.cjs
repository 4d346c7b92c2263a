// A minimal HTTP app for the benchmarks: "hello", or its pid at /pid.
const http = require('node:http');

http
  .createServer((req, res) => res.end(req.url === '/pid' ? `${process.pid}\n` : 'hello\n'))
  .listen(Number(process.env.PORT ?? 0), '127.0.0.1');
