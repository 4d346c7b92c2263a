#!/usr/bin/env node
// Checks the Node.js version before loading anything else, so an old runtime gets one clear line.
import { ErrorCode } from '../errors.js';
import { unsupportedNode } from './node-support.js';

const problem = unsupportedNode(process.versions.node);
if (problem) {
  process.stderr.write(`clusterd: ${problem} [${ErrorCode.NODE_VERSION}]\n`);
  process.exitCode = 1;
} else {
  import('./main.js')
    .then(({ main }) => main(process.argv.slice(2)))
    .then((code) => {
      process.exitCode = code;
    });
}
