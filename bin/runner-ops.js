#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI lives in compiled TypeScript (npm run build).
require('../dist/src/cli.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`runner-ops: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);
