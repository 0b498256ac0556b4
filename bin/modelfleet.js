#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

main(process.argv).catch((error) => {
  process.stderr.write(`modelfleet: ${error?.message ?? error}\n`);
  process.exitCode = 1;
});
