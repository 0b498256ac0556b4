import { readFileSync, statSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { CapacityEstimate, EstimateEvent, EstimateStep } from '../capacity/estimateCapacity.js';
import { DomainError, invalidInput, type ErrorDetail } from '../core/errors.js';
import { printJson, printTable, progress, progressDone } from './output.js';
import { ApiClient } from './client.js';
import { recordEstimate } from './capacityRecord.js';
import { clientOptions } from './serverOptions.js';
import { registerCapacityCostCommand } from './capacityCostCommand.js';

/** Exit codes of `capacity estimate`: an answer, no answer, and a command that could not start as given. */
const EXIT = { answer: 0, noAnswer: 1, usage: 2 } as const;

/** The estimator (undici, HdrHistogram, worker threads) loads only when an estimate runs, so `--help` stays fast. */
const estimator = () => import('../capacity/estimateCapacity.js');
const recordings = () => import('../capacity/recording.js');

interface EstimateFlags {
  target: string;
  traffic: string;
  p99Ms: string;
  maxErrorRate: string;
  p50Ms?: string;
  p90Ms?: string;
  p999Ms?: string;
  tolerance: string;
  stepDuration: string;
  warmup: string;
  confirmDuration?: string;
  startQps?: string;
  maxQps?: string;
  timeout?: string;
  workers: string;
  connections?: string;
  maxInFlight?: string;
  header?: string[];
  clientCostUs?: string;
  json?: boolean;
  model?: string;
  unitCost?: string;
  server?: string;
  token?: string;
}

/** Collects the problems with the flags, so one run reports all of them. */
class Flags {
  readonly problems: ErrorDetail[] = [];

  number(flag: string, text: string | undefined, rule: (n: number) => string | null): number | undefined {
    if (text === undefined) return undefined;
    const value = Number(text.trim());
    if (!text.trim() || !Number.isFinite(value)) {
      this.problems.push({ path: flag, message: `'${text}' is not a number` });
      return undefined;
    }
    const problem = rule(value);
    if (problem) this.problems.push({ path: flag, message: `${text}: ${problem}` });
    return problem ? undefined : value;
  }

  /** A share: 0.01 or 1%. */
  share(flag: string, text: string | undefined, rule: (n: number) => string | null): number | undefined {
    if (text === undefined) return undefined;
    const percent = /^\s*([0-9.]+)\s*%\s*$/.exec(text);
    return this.number(flag, percent ? String(Number(percent[1]) / 100) : text, rule);
  }

  /** `5s`, `500ms`, `1.5s`, `2m`: a unit is required, so `5` is not silently 5 ms. */
  duration(flag: string, text: string | undefined): number | undefined {
    if (text === undefined) return undefined;
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/.exec(text);
    if (!match) {
      this.problems.push({ path: flag, message: `'${text}' is not a duration: write it with a unit, e.g. 5s, 500ms or 1m` });
      return undefined;
    }
    const ms = Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
    if (!(ms > 0)) this.problems.push({ path: flag, message: `'${text}' must be longer than 0` });
    return ms;
  }
}

const positive = (n: number) => (n > 0 ? null : 'must be above 0');
const whole = (n: number) => (Number.isInteger(n) && n > 0 ? null : 'must be a whole number above 0');

function headerFlag(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Reads and parses the recording; a missing, empty or malformed file is the caller's to fix. */
async function readTraffic(file: string) {
  const { parseRecordingOrThrow, MAX_RECORDING_BYTES } = await recordings();
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_RECORDING_BYTES) throw invalidInput(`--traffic ${file} is ${Math.round(size / 2 ** 20)} MiB, above the ${MAX_RECORDING_BYTES / 2 ** 20} MiB a recording may have: a sample is enough, it is replayed cyclically`);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof DomainError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw invalidInput(`cannot read --traffic ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message}`);
  }
  return parseRecordingOrThrow(text, file);
}

const fixed = (value: number, digits: number) => Number(value.toFixed(digits));
const ms = (value: number) => (value >= 100 ? fixed(value, 0) : value >= 10 ? fixed(value, 1) : fixed(value, 2));
const rate = (value: number) => (value >= 1000 ? fixed(value, 0) : fixed(value, 1));
const share = (value: number) => `${fixed(value * 100, 2)}%`;

function describeStoppers(estimate: Pick<CapacityEstimate, 'stoppers'>): string {
  const s = estimate.stoppers;
  const latency = (['p50Ms', 'p90Ms', 'p99Ms', 'p999Ms'] as const).filter((k) => s[k] != null).map((k) => `${k.slice(0, -2)} <= ${s[k]} ms`);
  return [...latency, `error rate <= ${share(s.maxErrorRate)}`].join(', ');
}

const outcome = (step: EstimateStep) => (step.targetDown ? 'down' : step.generatorLimit ? 'generator' : step.pass ? 'pass' : 'fail');

function printEstimate(estimate: CapacityEstimate): void {
  printTable(
    estimate.steps.map((s) => ({
      step: s.index,
      phase: s.phase,
      offered: rate(s.offeredQps),
      achieved: rate(s.achievedQps),
      p50: ms(s.p50),
      p99: ms(s.p99),
      errors: share(s.errorRate),
      result: outcome(s),
      stopper: s.stopper,
    })),
    ['step', 'phase', 'offered', 'achieved', 'p50', 'p99', 'errors', 'result', 'stopper'],
  );
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out('');
  out(`stoppers: ${describeStoppers(estimate)}`);
  for (const change of estimate.workerChanges) out(`workers: ${change.from} -> ${change.to} at ${rate(change.atQps)} QPS (${change.reason})`);
  if (estimate.verdict === 'converged') out(`maximum stable rate: ${rate(estimate.maxQps!)} QPS (${estimate.reason})`);
  else if (estimate.verdict === 'max_qps_reached') out(`maximum stable rate: at least ${rate(estimate.maxQps!)} QPS, the --max-qps asked for; not a capacity (${estimate.reason})`);
  else out(`no stable rate found (${estimate.verdict}): ${estimate.reason}`);
}

/** The live line on a terminal: which step, its rate, p99 and errors so far against their stoppers, and the bounds found. */
function progressReporter(stoppers: { p99Ms: number; maxErrorRate: number }): (event: EstimateEvent) => void {
  const bounds = (good: number | null, bad: number | null) => `good ${good === null ? '-' : rate(good)}, bad ${bad === null ? '-' : rate(bad)}`;
  const against = (value: number, limit: number, text: string) => `${text} ${value > limit ? 'BREACHED' : 'ok'}`;
  return (event) => {
    switch (event.type) {
      case 'probe':
        progress(`target answered ${event.status} in ${ms(event.ms)} ms`);
        break;
      case 'step':
        progress(`step ${event.index} ${event.phase} ${rate(event.offeredQps)} QPS: warming up (${bounds(event.good, event.bad)})`);
        break;
      case 'measuring': {
        const p = event.progress;
        const errorRate = p.scheduled ? p.errors / p.scheduled : 0;
        progress(
          `step ${event.index} ${event.phase} ${rate(event.offeredQps)} QPS, ${(p.elapsedMs / 1000).toFixed(1)} s: ` +
            `${against(p.p99, stoppers.p99Ms, `p99 ${ms(p.p99)}/${stoppers.p99Ms} ms`)}, ${against(errorRate, stoppers.maxErrorRate, `errors ${share(errorRate)}/${share(stoppers.maxErrorRate)}`)}`,
        );
        break;
      }
      case 'result': {
        const s = event.step;
        const verdict = s.targetDown ? `target down: ${s.targetDown}` : s.generatorLimit ? `generator-bound: ${s.generatorLimit}` : s.pass ? 'pass' : `fail (${s.breached.join(', ')})`;
        if (process.stderr.isTTY) progressDone(`step ${s.index} ${s.phase} ${rate(s.offeredQps)} QPS: achieved ${rate(s.achievedQps)}, p99 ${ms(s.p99)} ms, errors ${share(s.errorRate)}: ${verdict}`);
        break;
      }
      case 'workers':
        if (process.stderr.isTTY) progressDone(`one thread could not offer the rate; using ${event.to} worker threads`);
        break;
      case 'recovered':
        if (process.stderr.isTTY) progressDone(`step ${event.index}: ${event.message}`);
        break;
    }
  };
}

/** Prints a problem the way the CLI prints domain errors, with the usage exit code. */
function usageError(error: DomainError): void {
  process.stderr.write(`modelfleet: ${error.message}\n`);
  for (const detail of error.details) process.stderr.write(`  ${detail.path}: ${detail.message}\n`);
  process.exitCode = EXIT.usage;
}

async function estimateAction(flags: EstimateFlags): Promise<void> {
  const f = new Flags();
  const p99Ms = f.number('--p99-ms', flags.p99Ms, positive);
  const maxErrorRate = f.share('--max-error-rate', flags.maxErrorRate, (n) => (n >= 0 && n < 1 ? null : 'must be at least 0 and below 1 (0.01 or 1% for one request in a hundred)'));
  const p50Ms = f.number('--p50-ms', flags.p50Ms, positive);
  const p90Ms = f.number('--p90-ms', flags.p90Ms, positive);
  const p999Ms = f.number('--p999-ms', flags.p999Ms, positive);
  const tolerance = f.share('--tolerance', flags.tolerance, (n) => (n > 0 && n <= 0.5 ? null : 'must be above 0 and at most 0.5 (e.g. 0.05 for 5%)'));
  const stepDurationMs = f.duration('--step-duration', flags.stepDuration);
  const warmupMs = flags.warmup.trim() === '0' ? 0 : f.duration('--warmup', flags.warmup);
  const confirmDurationMs = f.duration('--confirm-duration', flags.confirmDuration);
  const timeoutMs = f.duration('--timeout', flags.timeout);
  const startQps = f.number('--start-qps', flags.startQps, positive);
  const maxQps = f.number('--max-qps', flags.maxQps, positive);
  if (startQps !== undefined && maxQps !== undefined && maxQps < startQps) f.problems.push({ path: '--max-qps', message: `${maxQps} is below --start-qps ${startQps}: raise it, or lower --start-qps` });
  const workers = flags.workers === 'auto' ? 'auto' : f.number('--workers', flags.workers, (n) => (Number.isInteger(n) && n >= 0 ? null : "must be 'auto' or a whole number (0: the main thread)"));
  const connections = f.number('--connections', flags.connections, whole);
  const maxInFlight = f.number('--max-in-flight', flags.maxInFlight, whole);
  const clientCostUs = f.number('--client-cost-us', flags.clientCostUs, (n) => (n >= 0 ? null : 'must be 0 or more'));
  const headers: Record<string, string> = {};
  for (const header of flags.header ?? []) {
    const colon = header.indexOf(':');
    if (colon < 1) f.problems.push({ path: '--header', message: `'${header}' is not 'name: value'` });
    else headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
  }
  const { estimateCapacity, checkEstimateOptions } = await estimator();
  const { parseTarget } = await import('../capacity/loadGenerator.js');
  let options: Parameters<typeof estimateCapacity>[0];
  try {
    if (f.problems.length) throw invalidInput(`capacity estimate: ${f.problems.length} bad option${f.problems.length === 1 ? '' : 's'}`, f.problems);
    parseTarget(flags.target);
    const requests = await readTraffic(flags.traffic);
    options = {
      target: flags.target,
      requests,
      trafficFile: flags.traffic,
      stoppers: { p99Ms: p99Ms!, maxErrorRate: maxErrorRate!, p50Ms: p50Ms ?? null, p90Ms: p90Ms ?? null, p999Ms: p999Ms ?? null },
      search: { ...(startQps !== undefined ? { startQps } : {}), maxQps: maxQps ?? null, tolerance: tolerance! },
      stepDurationMs: stepDurationMs!,
      warmupMs: warmupMs!,
      ...(confirmDurationMs !== undefined ? { confirmDurationMs } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(workers !== undefined ? { workers } : {}),
      ...(connections !== undefined ? { connections } : {}),
      ...(maxInFlight !== undefined ? { maxInFlight } : {}),
      ...(clientCostUs ? { clientCostUs } : {}),
      ...(Object.keys(headers).length ? { headers } : {}),
      onProgress: progressReporter({ p99Ms: p99Ms!, maxErrorRate: maxErrorRate! }),
    };
    checkEstimateOptions(options);
  } catch (error) {
    if (error instanceof DomainError) return usageError(error);
    throw error;
  }
  let estimate: CapacityEstimate;
  try {
    estimate = await estimateCapacity(options);
  } finally {
    progressDone();
  }
  const answered = estimate.verdict === 'converged' || estimate.verdict === 'max_qps_reached';
  let recorded: { model: string; version: number; seq: number | null } | null = null;
  if (flags.model && answered) {
    const unitCost = flags.unitCost === undefined ? undefined : Number(flags.unitCost);
    const written = await recordEstimate(new ApiClient(clientOptions(flags as unknown as Record<string, unknown>)), flags.model, estimate, unitCost);
    recorded = { model: flags.model, ...written };
  }
  if (flags.json) printJson(flags.model ? { ...estimate, recorded } : estimate);
  else {
    printEstimate(estimate);
    if (recorded) process.stdout.write(`recorded on ${recorded.model}: capacity.maxQpsPerReplica = ${estimate.maxQps} (version ${recorded.version}${recorded.seq === null ? '' : `, change ${recorded.seq}`})\n`);
    else if (flags.model) process.stdout.write(`not recorded on ${flags.model}: the estimate found no stable rate\n`);
  }
  process.exitCode = answered ? EXIT.answer : EXIT.noAnswer;
}

/**
 * Adds the `capacity` command group with `estimate`, and returns the group so that other capacity
 * commands (`capacity cost`) can be added to it.
 */
export function registerCapacityCommands(program: Command): Command {
  const group = program.command('capacity').description('how much traffic a model server sustains: replay recorded traffic against it');
  group
    .command('estimate')
    .description('find the highest rate a target sustains within latency and error stoppers (open-loop load from a recording)')
    .requiredOption('--target <url>', 'the model server, e.g. http://127.0.0.1:8500 (a path here prefixes the recorded paths)')
    .requiredOption('--traffic <file>', 'recorded requests, one JSON object a line: {"method", "path", "headers", "body"}')
    .requiredOption('--p99-ms <ms>', 'stopper: p99 latency at most this many milliseconds')
    .requiredOption('--max-error-rate <share>', 'stopper: at most this share of requests may fail (0.01 or 1%)')
    .option('--p50-ms <ms>', 'stopper: p50 latency at most this')
    .option('--p90-ms <ms>', 'stopper: p90 latency at most this')
    .option('--p999-ms <ms>', 'stopper: p99.9 latency at most this')
    .option('--tolerance <share>', 'stop bisecting when the last good and first bad rates are this close', '0.05')
    .option('--step-duration <duration>', 'measured length of each step', '5s')
    .option('--warmup <duration>', 'load before each step is measured', '1s')
    .option('--confirm-duration <duration>', 'measured length of each of the two confirmation runs (default: twice --step-duration)')
    .option('--start-qps <qps>', "the first rate tried (default: half of what one connection sends at the first request's latency, at least 10)")
    .option('--max-qps <qps>', 'never offer more than this; if it holds, the answer is "at least this"')
    .option('--timeout <duration>', 'per request (default: the larger of 2s and 10 x --p99-ms)')
    .option('--workers <n>', "generator threads: 'auto' adds threads when one core cannot offer a rate; 0 is the main thread", 'auto')
    .option('--connections <n>', 'most keep-alive connections; testing rate R at latency L needs about R x L (default 1024)')
    .option('--max-in-flight <n>', 'most requests in flight; beyond it requests are not sent and count as overload errors (default 10000)')
    .option('--header <name:value>', 'a header for every request, over the recorded ones (repeatable)', headerFlag)
    .addOption(new Option('--client-cost-us <us>', 'CPU microseconds burnt per request, to demonstrate a generator-bound run').hideHelp())
    .option('--json', 'print the estimate as one JSON object (maxQps is the answer)')
    .option('--model <id>', "record the answer on this model's capacity profile in the registry, with where it came from")
    .option('--unit-cost <cost>', 'with --model: the cost of one replica, recorded with the capacity')
    .option('--server <url>', 'with --model: modelfleet server (default: $MODELFLEET_SERVER or http://127.0.0.1:8080)')
    .option('--token <token>', 'with --model: bearer token (default: $MODELFLEET_TOKEN, or .modelfleet/admin-token)')
    // Bad usage exits 2, like the option checks below; help and version still exit 0.
    .exitOverride((error) => {
      throw error.exitCode === 0 ? error : new CommanderError(EXIT.usage, error.code, error.message);
    })
    .action(estimateAction);
  registerCapacityCostCommand(group);
  return group;
}
