// A minimal HTTP app for the benchmarks.
const http = require('node:http');

http.createServer((_req, res) => res.end('hello\n')).listen(Number(process.env.PORT ?? 0), '127.0.0.1');
