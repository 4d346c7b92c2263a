// The hello app with the graceful shutdown handler PM2's docs recommend: close the server, then exit.
const http = require('node:http');

const server = http
  .createServer((_req, res) => res.end('hello\n'))
  .listen(Number(process.env.PORT ?? 0), '127.0.0.1');
const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
