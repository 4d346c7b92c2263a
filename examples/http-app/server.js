// A small HTTP app for clusterd's quick start: every response says which worker answered.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const worker = process.env.NODE_APP_INSTANCE ?? '-';

const server = createServer((req, res) => {
  // What `clusterd logs` shows: each worker's output, tagged with its app and worker.
  console.log(`${req.method} ${req.url}`);
  res.setHeader('content-type', 'application/json');
  res.end(`${JSON.stringify({ worker: Number(worker), pid: process.pid, path: req.url })}\n`);
});

server.listen(port, host);
