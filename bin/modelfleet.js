#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// `modelfleet ... | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv).catch((error) => {
  process.stderr.write(`modelfleet: ${error?.message ?? error}\n`);
  process.exitCode = 1;
});
