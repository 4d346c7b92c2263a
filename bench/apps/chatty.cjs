// Writes LINES lines of about 100 bytes to stdout as fast as it can, then exits once they are flushed
// (writes to a pipe are asynchronous). A cluster worker does not exit by itself: its IPC channel keeps
// it alive, hence the explicit exit.
const total = Number(process.env.LINES ?? 200000);
const pad = 'x'.repeat(80);
const started = Date.now();
for (let i = 0; i < total; i++) process.stdout.write(`line ${i} ${pad}\n`);
process.stdout.write(`done ${total} lines in ${Date.now() - started} ms\n`, () => process.exit(0));
