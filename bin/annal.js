#!/usr/bin/env node
// The `annal` command; its implementation is compiled from src/cli (run `npm run build` first).
import { main } from '../dist/src/cli/main.js';

main(process.argv).catch((error) => {
  process.stderr.write(`annal: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
