#!/usr/bin/env node
// Checks the Node.js version before loading anything else, so an old runtime gets one clear line.
import { ErrorCode } from '../errors.js';
import { unsupportedNode } from './node-support.js';

const problem = unsupportedNode(process.versions.node);
if (problem) {
  process.stderr.write(`clusterd: ${problem} [${ErrorCode.NODE_VERSION}]\n`);
  process.exitCode = 1;
} else {
  // The compile cache before the rest of clusterd loads (src/compile-cache.ts): imported here, after the
  // version check, because an old Node.js has no module.enableCompileCache.
  import('../compile-cache.js')
    .then(({ openCompileCache }) => openCompileCache())
    .then(() => import('./main.js'))
    .then(({ main }) => main(process.argv.slice(2)))
    .then((code) => {
      process.exitCode = code;
    });
}
