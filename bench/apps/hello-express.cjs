// bench/apps/hello.cjs on Express (its ~60 modules to load): what the compile cache saves a real app's
// workers at start and reload (bench/compile-cache.ts).
const express = require('express');

const app = express();
app.get('/pid', (_req, res) => res.send(`${process.pid}\n`));
app.get('/', (_req, res) => res.send('hello\n'));
app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
