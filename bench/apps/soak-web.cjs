// The soak benchmark's web app (bench/soak.ts): "hello", its pid at /pid, and /crash, which answers and
// then exits with code 1 (a worker crash as an app's bug makes one: the exit, not a signal).
const http = require('node:http');

http
  .createServer((req, res) => {
    if (req.url === '/crash') return res.end('bye\n', () => process.exit(1));
    res.end(req.url === '/pid' ? `${process.pid}\n` : 'hello\n');
  })
  .listen(Number(process.env.PORT ?? 0), '127.0.0.1');
