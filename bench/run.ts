import { fileURLToPath } from 'node:url';
import { writeSection } from './lib/benchmarksDoc.js';
import { runRegistryBench, type BenchOutcome } from './registry.js';

/**
 * Runs every benchmark and rewrites its section of docs/benchmarks.md.
 *   --quick            smaller fleet, shorter runs, for iterating; prints, does not touch the docs
 *   --write            write the docs even with --quick
 *   --only=sqlite|postgres
 */
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const write = !quick || args.includes('--write');
const onlyArg = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
if (onlyArg !== undefined && onlyArg !== 'sqlite' && onlyArg !== 'postgres') {
  process.stderr.write(`--only must be sqlite or postgres, not '${onlyArg}'\n`);
  process.exit(2);
}
const unknown = args.filter((a) => !['--quick', '--write'].includes(a) && !a.startsWith('--only='));
if (unknown.length) {
  process.stderr.write(`unknown option(s): ${unknown.join(' ')} (known: --quick, --write, --only=sqlite|postgres)\n`);
  process.exit(2);
}

const docs = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
const started = performance.now();
const outcomes: BenchOutcome[] = [await runRegistryBench({ quick, only: onlyArg as 'sqlite' | 'postgres' | undefined })];

for (const outcome of outcomes) {
  process.stdout.write(`\n${outcome.markdown}\n`);
  if (write) writeSection(docs, outcome.id, outcome.markdown);
}
process.stderr.write(`\nbenchmarks took ${((performance.now() - started) / 1000).toFixed(0)} s${write ? `; results written to ${docs}` : ' (--quick: docs/benchmarks.md left as it was; add --write to update it)'}\n`);
const problems = outcomes.flatMap((o) => o.problems);
if (problems.length) {
  process.stderr.write(`\n${problems.length} target(s) missed or error(s):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exitCode = 1;
}
