import { fileURLToPath } from 'node:url';
import { writeSection } from './lib/benchmarksDoc.js';
import { runCapacityBench } from './capacity.js';
import { runConsoleBench } from './console.js';
import { runScaleOutBench } from './scaleOut.js';
import { runLaunchBench } from './launch.js';
import { runRegistryBench, type BenchOutcome } from './registry.js';
import { runStabilityBench } from './stability.js';

/**
 * Runs every benchmark and rewrites its section of docs/benchmarks.md.
 *   --quick            smaller fleet, shorter runs, for iterating; prints, does not touch the docs
 *   --write            write the docs even with --quick
 *   --only=sqlite|postgres   the registry benchmark on one database only (and no other benchmark)
 *   --only=registry|stability|capacity|launch|console|scale-out one benchmark
 */
const ONLY = ['sqlite', 'postgres', 'registry', 'stability', 'capacity', 'launch', 'console', 'scale-out'] as const;
type Only = (typeof ONLY)[number];
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const write = !quick || args.includes('--write');
const onlyArg = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
if (onlyArg !== undefined && !(ONLY as readonly string[]).includes(onlyArg)) {
  process.stderr.write(`--only must be one of ${ONLY.join(', ')}, not '${onlyArg}'\n`);
  process.exit(2);
}
const only = onlyArg as Only | undefined;
const unknown = args.filter((a) => !['--quick', '--write'].includes(a) && !a.startsWith('--only='));
if (unknown.length) {
  process.stderr.write(`unknown option(s): ${unknown.join(' ')} (known: --quick, --write, --only=${ONLY.join('|')})\n`);
  process.exit(2);
}

const docs = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
const started = performance.now();
const outcomes: BenchOutcome[] = [];
if (only === undefined || only === 'registry' || only === 'sqlite' || only === 'postgres') outcomes.push(await runRegistryBench({ quick, only: only === 'sqlite' || only === 'postgres' ? only : undefined }));
if (only === undefined || only === 'stability') outcomes.push(await runStabilityBench({ quick }));
if (only === undefined || only === 'capacity') outcomes.push(await runCapacityBench({ quick }));
if (only === undefined || only === 'launch') outcomes.push(await runLaunchBench({ quick }));
if (only === undefined || only === 'console') outcomes.push(await runConsoleBench({ quick }));
if (only === undefined || only === 'scale-out') outcomes.push(await runScaleOutBench({ quick }));

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
