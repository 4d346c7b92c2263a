// A release for the canary benchmark (bench/canary.ts): how it behaves is read at its start from the JSON
// file RELEASE_FILE names (new code on disk, as a deploy brings; a worker started later reads what the
// file says then): `errorEvery` N answers 500 to every Nth request this worker serves, `crashAfterMs`
// exits 1 that long after the first request it served, first printing the time it crashed at
// (`{"crashedAt": epoch ms}`) so that the benchmark can time what follows. Answers with its release's name,
// and /pid with its pid (bench/targets.ts `answering`; not counted by `errorEvery`).
const { readFileSync } = require('node:fs');
const http = require('node:http');

const release = JSON.parse(readFileSync(process.env.RELEASE_FILE, 'utf8'));
let served = 0;
let crashTimer = null;

http
  .createServer((req, res) => {
    if (req.url === '/pid') return res.end(`${process.pid}\n`);
    served += 1;
    if (release.crashAfterMs && !crashTimer)
      crashTimer = setTimeout(() => {
        console.log(JSON.stringify({ crashedAt: Date.now(), release: release.name }));
        process.exit(1);
      }, release.crashAfterMs);
    res.writeHead(release.errorEvery && served % release.errorEvery === 0 ? 500 : 200, {
      'content-type': 'text/plain',
    });
    res.end(`${release.name}\n`);
  })
  .listen(Number(process.env.PORT ?? 0), '127.0.0.1');
