// bench/apps/hello.cjs as TypeScript, run through Node.js's type stripping (bench/compile-cache.ts).
import http from 'node:http';

interface Reply {
  status: number;
  body: (url: string | undefined) => string;
}

const reply: Reply = { status: 200, body: (url) => (url === '/pid' ? `${process.pid}\n` : 'hello\n') };

http
  .createServer((req, res) => {
    res.statusCode = reply.status;
    res.end(reply.body(req.url));
  })
  .listen(Number(process.env.PORT ?? 0), '127.0.0.1');
