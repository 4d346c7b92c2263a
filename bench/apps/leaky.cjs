// A leaking HTTP app for the guards benchmark: every request keeps LEAK_KB of memory for good; its pid
// is written to PID_DIR at start, so that the benchmark samples every worker's RSS whoever forked it.
const { writeFileSync } = require('node:fs');
const http = require('node:http');
const { join } = require('node:path');

if (process.env.PID_DIR) writeFileSync(join(process.env.PID_DIR, String(process.pid)), '');
const leak = Number(process.env.LEAK_KB ?? 16) * 1024;
const kept = [];
http
  .createServer((req, res) => {
    kept.push(Buffer.alloc(leak, 1));
    res.end(req.url === '/pid' ? `${process.pid}\n` : 'hello\n');
  })
  .listen(Number(process.env.PORT ?? 0), '127.0.0.1');
