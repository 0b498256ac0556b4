import { fork, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Pool } from 'undici';
import { createModelfleet } from '../src/modelfleet.js';
import { DEFAULT_FLEET_SEED, generateFleet } from '../src/sim/fleet.js';
import { mulberry32 } from '../src/sim/random.js';
import { Accumulator } from '../src/stability/accumulator.js';
import { metricsOf, type StabilityMetrics } from '../src/stability/metrics.js';
import { machine, machineLine, table } from './lib/benchmarksDoc.js';
import { machineBusySeconds, processCpuSeconds, ROOT, runProcess, startServerProcess, type ServerProcess } from './lib/childServer.js';
import { calibrate } from './lib/calibration.js';
import { collectGarbage } from './lib/gc.js';
import { latencyHistogram, recordMs, summarize } from './lib/histogram.js';
import type { BenchOutcome } from './registry.js';

/**
 * Model stability at ingestion speed, three ways:
 *
 * (a) the aggregation core: synthetic columnar batches summed into one Accumulator per model, task
 *     and minute on one core, with `addColumns` against a loop of `add()` in the same run, and the
 *     memory the sums keep at two sizes of input (it must depend on pairs x minutes only);
 * (b) HTTP ingestion end to end: `modelfleet serve` in a child process, a load generator in another,
 *     NDJSON and columnar bodies, every event accounted for;
 * (c) the same per-group metrics on the same data by numpy and scikit-learn (bench/lib/stabilityPeer.py).
 */

export interface StabilityBenchOptions {
  quick: boolean;
}

const MINUTE_MS = 60_000;
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
export const DATA_SEED = 314159;
/** One fleet for both parts, so the in-process pairs are real (model, task) pairs of a registry. */
export const FLEET_MODELS = 1200;

/** Targets from the issue. */
const TARGET_CORE_EVENTS_PER_SECOND = 20_000_000;
const TARGET_NDJSON_EVENTS_PER_SECOND = 300_000;
const TARGET_COLUMNAR_EVENTS_PER_SECOND = 2_000_000;

interface Plan {
  /** Events of the main data set, and of the smaller one the memory is compared with. */
  events: number;
  smallEvents: number;
  pairs: number;
  minutes: number;
  /** Events per columnar batch of one (model, task), as a client library would flush them. */
  batchSize: number;
  /** Timed repetitions of each in-process variant; the median is reported. */
  repetitions: number;
  http: { warmupMs: number; durationMs: number; connections: number; ndjsonEventsPerRequest: number; columnarEventsPerRequest: number; bodies: number };
}

const FULL: Plan = {
  events: 10_000_000,
  smallEvents: 2_000_000,
  pairs: 3000,
  minutes: 60,
  batchSize: 2048,
  repetitions: 7,
  http: { warmupMs: 2000, durationMs: 10_000, connections: 8, ndjsonEventsPerRequest: 4000, columnarEventsPerRequest: 50_000, bodies: 96 },
};

const QUICK: Plan = {
  ...FULL,
  events: 2_000_000,
  smallEvents: 400_000,
  repetitions: 3,
  http: { ...FULL.http, warmupMs: 500, durationMs: 3000, bodies: 32 },
};

const log = (message: string) => process.stderr.write(`[bench stability] ${message}\n`);

// ---------------------------------------------------------------------------------------------------
// The data: deterministic columnar batches.

export interface Pair {
  model: string;
  task: string;
}

/** (model, task) pairs of the live models of the benchmark fleet, in fleet order. */
export function fleetPairs(): { pairs: Pair[]; byType: Map<string, Pair[]> } {
  const fleet = generateFleet({ models: FLEET_MODELS, seed: DEFAULT_FLEET_SEED });
  const tasksOf = new Map(fleet.modelTypes.map((t) => [t.name, t.tasks.map((task) => task.name)]));
  const pairs: Pair[] = [];
  const byType = new Map<string, Pair[]>();
  for (const model of fleet.models) {
    // Ingestion refuses events of retired models.
    if (model.role === 'retired') continue;
    const type = model.id.slice(0, model.id.indexOf(':'));
    for (const task of tasksOf.get(type) ?? []) {
      const pair = { model: model.id, task };
      pairs.push(pair);
      byType.set(type, [...(byType.get(type) ?? []), pair]);
    }
  }
  return { pairs, byType };
}

/**
 * Events laid out as a client would send them: batch b holds events batchStart[b] to
 * batchStart[b + 1] of pair batchPair[b], in time order; batches arrive ordered by their first event.
 */
interface Dataset {
  events: number;
  pairs: number;
  minutes: number;
  startMs: number;
  p: Float64Array;
  y: Uint8Array;
  ts: Float64Array;
  batchPair: Int32Array;
  batchStart: Int32Array;
}

/** A normal deviate source (Box-Muller) over mulberry32, so the data is the same on every machine. */
function normals(next: () => number): () => number {
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const z = spare;
      spare = NaN;
      return z;
    }
    const u = 1 - next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * `events` labeled predictions over `pairs` pairs and `minutes` minutes. Traffic per pair is skewed
 * (Zipf-like over a random ranking, exponent 0.7); p is logit-normal per pair (a beta-like shape
 * with its mass at a few percent and a long tail towards 0), and y ~ Bernoulli(c * p) with a per-pair
 * miscalibration c in [0.8, 1.2]. Event times of a pair are evenly spread over the span.
 */
function generateDataset(events: number, pairs: number, minutes: number, batchSize: number, seed: number): Dataset {
  const next = mulberry32(seed);
  const normal = normals(next);
  const startMs = Date.UTC(2026, 10, 25, 10, 0, 0);
  const spanMs = minutes * MINUTE_MS;

  // Zipf-like shares over a random ranking of the pairs.
  const rank = Array.from({ length: pairs }, (_, i) => i);
  for (let i = pairs - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [rank[i], rank[j]] = [rank[j]!, rank[i]!];
  }
  const share = rank.map((r) => 1 / (r + 1) ** 0.7);
  const total = share.reduce((a, b) => a + b, 0);
  const counts = share.map((s) => Math.floor((events * s) / total));
  let missing = events - counts.reduce((a, b) => a + b, 0);
  for (let k = 0; missing > 0; k = (k + 1) % pairs, missing--) counts[k]! += 1;

  const mu = Float64Array.from({ length: pairs }, () => -4.5 + 3 * next());
  const sigma = Float64Array.from({ length: pairs }, () => 0.6 + 0.8 * next());
  const miscalibration = Float64Array.from({ length: pairs }, () => 0.8 + 0.4 * next());

  // Cut each pair's events into batches, then order all batches by the time of their first event.
  const chunks: Array<{ pair: number; from: number; to: number; first: number }> = [];
  for (let pair = 0; pair < pairs; pair++) {
    const n = counts[pair]!;
    for (let from = 0; from < n; from += batchSize) chunks.push({ pair, from, to: Math.min(n, from + batchSize), first: Math.floor(((from + 0.5) * spanMs) / n) });
  }
  chunks.sort((a, b) => a.first - b.first || a.pair - b.pair);

  const p = new Float64Array(events);
  const y = new Uint8Array(events);
  const ts = new Float64Array(events);
  const batchPair = new Int32Array(chunks.length);
  const batchStart = new Int32Array(chunks.length + 1);
  let at = 0;
  chunks.forEach((chunk, b) => {
    batchPair[b] = chunk.pair;
    batchStart[b] = at;
    const n = counts[chunk.pair]!;
    const m = mu[chunk.pair]!;
    const s = sigma[chunk.pair]!;
    const c = miscalibration[chunk.pair]!;
    for (let i = chunk.from; i < chunk.to; i++, at++) {
      const pi = 1 / (1 + Math.exp(-(m + s * normal())));
      p[at] = pi;
      y[at] = next() < c * pi ? 1 : 0;
      ts[at] = startMs + Math.floor(((i + 0.5) * spanMs) / n);
    }
  });
  batchStart[chunks.length] = at;
  return { events, pairs, minutes, startMs, p, y, ts, batchPair, batchStart };
}

// ---------------------------------------------------------------------------------------------------
// (a) The aggregation core. Plain top-level functions, so V8 optimises each loop on its own.

/**
 * Sums per pair key, then per minute index (epoch minutes, ~29 million: a small integer, which V8's
 * Map hashes much faster than the epoch-ms double of the minute's start).
 */
type MinuteSums = Map<string, Map<number, Accumulator>>;

/** The minute bucket of one pair, created on first use. */
function bucketOf(minutes: Map<number, Accumulator>, minute: number): Accumulator {
  let acc = minutes.get(minute);
  if (!acc) minutes.set(minute, (acc = new Accumulator()));
  return acc;
}

function minutesOf(state: MinuteSums, key: string): Map<number, Accumulator> {
  let minutes = state.get(key);
  if (!minutes) state.set(key, (minutes = new Map()));
  return minutes;
}

/**
 * What ingestion does with a columnar batch: find the pair once, split the batch into runs of one
 * minute (a compare per event), and hand each run to `addColumns`.
 */
function sumByMinuteColumns(d: Dataset, keys: readonly string[], state: MinuteSums): void {
  const { p, y, ts, batchPair, batchStart } = d;
  for (let b = 0; b < batchPair.length; b++) {
    const minutes = minutesOf(state, keys[batchPair[b]!]!);
    const end = batchStart[b + 1]!;
    let from = batchStart[b]!;
    while (from < end) {
      const t0 = ts[from]!;
      const minute = t0 - (t0 % MINUTE_MS);
      const next = minute + MINUTE_MS;
      let to = from + 1;
      // Both bounds, so an out-of-order event starts a new run instead of landing in the wrong minute.
      while (to < end && ts[to]! < next && ts[to]! >= minute) to++;
      bucketOf(minutes, minute / MINUTE_MS).addColumns(p, y, undefined, from, to);
      from = to;
    }
  }
}

/** The same routing, then `add()` per event: the path without the columnar loop. */
function sumByMinuteEvents(d: Dataset, keys: readonly string[], state: MinuteSums): void {
  const { p, y, ts, batchPair, batchStart } = d;
  for (let b = 0; b < batchPair.length; b++) {
    const minutes = minutesOf(state, keys[batchPair[b]!]!);
    const end = batchStart[b + 1]!;
    let from = batchStart[b]!;
    while (from < end) {
      const t0 = ts[from]!;
      const minute = t0 - (t0 % MINUTE_MS);
      const next = minute + MINUTE_MS;
      let to = from + 1;
      while (to < end && ts[to]! < next && ts[to]! >= minute) to++;
      const acc = bucketOf(minutes, minute / MINUTE_MS);
      for (let i = from; i < to; i++) acc.add(p[i]!, y[i]!);
      from = to;
    }
  }
}

/** One accumulator per pair, no minutes: the grouping the numpy and scikit-learn peers compute. */
function sumByPairColumns(d: Dataset, accs: readonly Accumulator[]): void {
  const { p, y, batchPair, batchStart } = d;
  for (let b = 0; b < batchPair.length; b++) accs[batchPair[b]!]!.addColumns(p, y, undefined, batchStart[b]!, batchStart[b + 1]!);
}

function sumByPairEvents(d: Dataset, accs: readonly Accumulator[]): void {
  const { p, y, batchPair, batchStart } = d;
  for (let b = 0; b < batchPair.length; b++) {
    const acc = accs[batchPair[b]!]!;
    const end = batchStart[b + 1]!;
    for (let i = batchStart[b]!; i < end; i++) acc.add(p[i]!, y[i]!);
  }
}

const Variant = ['minute-columns', 'minute-events', 'pair-columns', 'pair-events'] as const;
type Variant = (typeof Variant)[number];

const VARIANT_LABEL: Record<Variant, string> = {
  'minute-columns': '`addColumns`, per pair x minute',
  'minute-events': '`add()` per event, per pair x minute',
  'pair-columns': '`addColumns`, per pair',
  'pair-events': '`add()` per event, per pair',
};

interface CoreRun {
  variant: Variant;
  /** {@link calibrate} just before the run: the machine's speed at the time. */
  calibrationMs: number;
  events: number;
  seconds: number[];
  /** Median events per second. */
  rate: number;
  accumulators: number;
  /** Heap the sums keep after a full GC, and what the run added before any GC (garbage included). */
  retainedBytes: number;
  heapGrowthBytes: number;
  rssGrowthBytes: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function countAccumulators(state: MinuteSums | Accumulator[]): number {
  if (Array.isArray(state)) return state.length;
  let n = 0;
  for (const minutes of state.values()) n += minutes.size;
  return n;
}

type Sums = MinuteSums | Accumulator[];

/** One aggregation of the whole data set into fresh sums. */
function aggregate(variant: Variant, d: Dataset, keys: readonly string[]): Sums {
  if (variant === 'pair-columns' || variant === 'pair-events') {
    const accs = Array.from({ length: d.pairs }, () => new Accumulator());
    if (variant === 'pair-columns') sumByPairColumns(d, accs);
    else sumByPairEvents(d, accs);
    return accs;
  }
  const state: MinuteSums = new Map();
  if (variant === 'minute-columns') sumByMinuteColumns(d, keys, state);
  else sumByMinuteEvents(d, keys, state);
  return state;
}

// Each repetition runs in its own call, and returns only numbers: a frame that is still live (even a
// loop's register holding the last iteration's value) keeps its sums reachable, and the next "before"
// heap would then count them.

function timeOnce(variant: Variant, d: Dataset, keys: readonly string[]): number {
  collectGarbage();
  const started = performance.now();
  const sums = aggregate(variant, d, keys);
  const seconds = (performance.now() - started) / 1000;
  if (countAccumulators(sums) === 0) throw new Error('no sums');
  return seconds;
}

function measureOnce(variant: Variant, d: Dataset, keys: readonly string[]): { sums: Sums; retainedBytes: number; heapGrowthBytes: number; rssGrowthBytes: number } {
  collectGarbage();
  const before = process.memoryUsage();
  const sums = aggregate(variant, d, keys);
  const after = process.memoryUsage();
  collectGarbage();
  const retained = process.memoryUsage();
  return { sums, retainedBytes: retained.heapUsed - before.heapUsed, heapGrowthBytes: after.heapUsed - before.heapUsed, rssGrowthBytes: after.rss - before.rss };
}

/**
 * Times the variants `repetitions` times each, on fresh sums, taking turns (one run of each, then the
 * next round) so a busy spell on the shared machine slows all of them rather than one; then measures
 * the memory of one more run of each, whose sums it returns for the cross-checks.
 */
function timeVariants(variants: readonly Variant[], d: Dataset, keys: readonly string[], repetitions: number): Map<Variant, { run: CoreRun; state: Sums }> {
  const seconds = new Map(variants.map((v) => [v, [] as number[]]));
  const calibrations = [calibrate()];
  for (let r = 0; r < repetitions; r++) for (const variant of variants) seconds.get(variant)!.push(timeOnce(variant, d, keys));
  calibrations.push(calibrate());
  const out = new Map<Variant, { run: CoreRun; state: Sums }>();
  for (const variant of variants) {
    const { sums, ...memory } = measureOnce(variant, d, keys);
    const times = seconds.get(variant)!;
    const rate = d.events / median(times);
    const run: CoreRun = { variant, calibrationMs: median(calibrations), events: d.events, seconds: times, rate, accumulators: countAccumulators(sums), ...memory };
    log(
      `${VARIANT_LABEL[variant]}, ${d.events} events: median ${(median(times) * 1000).toFixed(0)} ms (${times.map((x) => (x * 1000).toFixed(0)).join(', ')}), ` +
        `${(rate / 1e6).toFixed(1)} M events/s, ${run.accumulators} accumulators, retained ${mib(run.retainedBytes)}, heap growth ${mib(run.heapGrowthBytes)}, RSS growth ${mib(run.rssGrowthBytes)}; calibration ${calibrations.map((c) => c.toFixed(0)).join(', ')} ms`,
    );
    out.set(variant, { run, state: sums });
  }
  return out;
}

/** Sums of all minutes of each pair. */
function mergeMinutes(state: MinuteSums, keys: readonly string[]): Accumulator[] {
  return keys.map((key) => {
    const acc = new Accumulator();
    for (const minute of state.get(key)?.values() ?? []) acc.merge(minute);
    return acc;
  });
}

const relDiff = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));

/** Largest relative difference between two sets of per-pair sums. */
function maxSumsDiff(a: readonly Accumulator[], b: readonly Accumulator[]): { rel: number; countsEqual: boolean } {
  let rel = 0;
  let countsEqual = a.length === b.length;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x.count !== y.count) countsEqual = false;
    for (const f of ['weight', 'positives', 'weightedP', 'weightedLogLoss'] as const) rel = Math.max(rel, relDiff(x[f], y[f]));
  });
  return { rel, countsEqual };
}

interface CoreResults {
  runs: CoreRun[];
  /** addColumns against add(): same sums? Minutes merged against the per-pair sums? */
  columnsVsEvents: { rel: number; countsEqual: boolean };
  minutesVsPairs: { rel: number; countsEqual: boolean };
  /** Per-pair sums of the big data set, for the peers. */
  pairSums: Accumulator[];
  batches: number;
  /** Events of the quietest and the busiest pair; positive rate of the lowest, median and highest pair. */
  pairEvents: { min: number; max: number };
  positiveRate: { min: number; median: number; max: number };
}

function benchCore(plan: Plan, keys: readonly string[], d: Dataset, small: boolean, into: CoreResults): void {
  const timed = timeVariants(small ? ['minute-columns'] : Variant, d, keys, plan.repetitions);
  for (const { run } of timed.values()) into.runs.push(run);
  if (small) return;
  into.batches = d.batchPair.length;
  const minuteColumns = timed.get('minute-columns')!;
  const minuteEvents = timed.get('minute-events')!;
  const pairColumns = timed.get('pair-columns')!;
  const pairEvents = timed.get('pair-events')!;
  const pairs = pairColumns.state as Accumulator[];
  const merged = mergeMinutes(minuteColumns.state as MinuteSums, keys);
  const perEvent = mergeMinutes(minuteEvents.state as MinuteSums, keys);
  const a = maxSumsDiff(merged, perEvent);
  const b = maxSumsDiff(pairs, pairEvents.state as Accumulator[]);
  into.columnsVsEvents = { rel: Math.max(a.rel, b.rel), countsEqual: a.countsEqual && b.countsEqual };
  into.minutesVsPairs = maxSumsDiff(merged, pairs);
  into.pairSums = pairs;
  const counts = pairs.map((acc) => acc.count);
  into.pairEvents = { min: Math.min(...counts), max: Math.max(...counts) };
  const rates = pairs.map((acc) => acc.positives / acc.weight).sort((x, y) => x - y);
  into.positiveRate = { min: rates[0]!, median: median(rates), max: rates[rates.length - 1]! };
}

// ---------------------------------------------------------------------------------------------------
// (c) numpy and scikit-learn on the same data.

const PEER = fileURLToPath(new URL('../../bench/lib/stabilityPeer.py', import.meta.url));

interface PeerMethod {
  /** Median of `runs`. */
  seconds: number;
  runs: number[];
  eventsPerSecond: number;
  checksum: { ne: number; calibration: number; groups: number };
  sample: Record<string, null | { count: number; positives: number; weightedP: number; logLoss: number; calibration: number | null; ne: number | null }>;
}

interface PeerOutput {
  python: string;
  numpy: string;
  sklearn?: string;
  events: number;
  groups: number;
  loadSeconds: number;
  methods: Record<string, PeerMethod>;
}

interface PeerResults {
  interpreter: string;
  output: PeerOutput;
  /** Per method: the largest relative difference from our metrics over the sample groups and the checksums. */
  agreement: Record<string, { rel: number; tolerance: number; ok: boolean }>;
  sampleGroups: number[];
}

/** Writes the data set as stabilityPeer.py reads it: header, p (float64), y (uint8), padding, group ids (int32). */
function writePeerFile(d: Dataset, file: string): void {
  const header = Buffer.alloc(24);
  header.write('MFSTAB01', 0, 'latin1');
  header.writeBigUInt64LE(BigInt(d.events), 8);
  header.writeUInt32LE(d.pairs, 16);
  const groups = new Int32Array(d.events);
  for (let b = 0; b < d.batchPair.length; b++) groups.fill(d.batchPair[b]!, d.batchStart[b]!, d.batchStart[b + 1]!);
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, header);
    writeSync(fd, new Uint8Array(d.p.buffer, d.p.byteOffset, d.p.byteLength));
    writeSync(fd, d.y);
    writeSync(fd, Buffer.alloc((4 - ((24 + 9 * d.events) % 4)) % 4));
    writeSync(fd, new Uint8Array(groups.buffer, groups.byteOffset, groups.byteLength));
  } finally {
    closeSync(fd);
  }
}

function runCommand(command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-20_000)));
    child.once('error', (error) => resolve({ code: -1, stdout, stderr: String(error) }));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The first Python with numpy and scikit-learn: MODELFLEET_BENCH_PYTHON, then Debian's own interpreter
 * (where python3-numpy and python3-sklearn install), then whatever `python3` is on PATH.
 */
async function findPython(): Promise<{ interpreter: string } | { why: string }> {
  const candidates = [process.env['MODELFLEET_BENCH_PYTHON'], '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  const tried: string[] = [];
  for (const candidate of candidates) {
    const probe = await runCommand(candidate, ['-c', 'import numpy, sklearn']);
    if (probe.code === 0) return { interpreter: candidate };
    tried.push(`${candidate}: ${probe.stderr.trim().split('\n').pop() ?? `exit ${probe.code}`}`);
  }
  return { why: `no Python with numpy and scikit-learn (apt-get install python3-numpy python3-sklearn; or set MODELFLEET_BENCH_PYTHON). Tried ${tried.join('; ')}` };
}

/** Groups to compare one by one: the busiest, the quietest, and a few others. */
function sampleGroups(d: Dataset, sums: readonly Accumulator[]): number[] {
  const byCount = sums.map((a, i) => [a.count, i] as const).sort((a, b) => a[0] - b[0]);
  const next = mulberry32(DATA_SEED + 1);
  const picks = new Set<number>([byCount[0]![1], byCount[byCount.length - 1]![1]]);
  while (picks.size < Math.min(7, d.pairs)) picks.add(Math.floor(next() * d.pairs));
  return [...picks];
}

function checksumOf(sums: readonly Accumulator[]): { ne: number; calibration: number } {
  let ne = 0;
  let calibration = 0;
  for (const acc of sums) {
    const m = metricsOf(acc);
    if (m.ne !== null) ne += m.ne;
    if (m.calibration !== null) calibration += m.calibration;
  }
  return { ne, calibration };
}

async function benchPeers(d: Dataset, sums: readonly Accumulator[], workDir: string, skipped: string[]): Promise<PeerResults | null> {
  const python = await findPython();
  if ('why' in python) {
    log(`skipping the numpy and scikit-learn peers: ${python.why}`);
    skipped.push(`(c) peers: ${python.why}`);
    return null;
  }
  const file = join(workDir, 'events.bin');
  writePeerFile(d, file);
  const groups = sampleGroups(d, sums);
  log(`peers: ${python.interpreter} ${PEER} on ${d.events} events (numpy vectorized, then the scikit-learn loop over ${d.pairs} groups)...`);
  // One thread each, as our loop has one core: numpy's elementwise functions are single-threaded anyway.
  const run = await runCommand(python.interpreter, [PEER, file, '--check', groups.join(','), '--repeat', '5'], { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' });
  rmSync(file, { force: true });
  if (run.code !== 0) throw new Error(`stabilityPeer.py failed (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  const output = JSON.parse(run.stdout) as PeerOutput;
  if (output.events !== d.events || output.groups !== d.pairs) throw new Error(`the peer read ${output.events} events in ${output.groups} groups, expected ${d.events} in ${d.pairs}`);

  const ours = checksumOf(sums);
  const agreement: PeerResults['agreement'] = {};
  for (const [name, method] of Object.entries(output.methods)) {
    // numpy clamps p as we do; scikit-learn clips to float64 epsilon and computes log(1 - p), not log1p(-p).
    const tolerance = name === 'numpy' ? 1e-9 : 1e-6;
    let rel = Math.max(relDiff(method.checksum.ne, ours.ne), relDiff(method.checksum.calibration, ours.calibration));
    let ok = method.checksum.groups === sums.filter((a) => a.count > 0).length;
    for (const g of groups) {
      const theirs = method.sample[String(g)];
      const m: StabilityMetrics = metricsOf(sums[g]!);
      if (!theirs) {
        ok = ok && m.count === 0;
        continue;
      }
      if (theirs.count !== m.count) ok = false;
      const pairs: Array<[number | null, number | null]> = [
        [theirs.positives, m.positives],
        [theirs.weightedP, sums[g]!.weightedP],
        [theirs.logLoss, m.logLoss],
        [theirs.calibration, m.calibration],
        [theirs.ne, m.ne],
      ];
      for (const [a, b] of pairs) {
        if (a === null || b === null) ok = ok && a === b;
        else rel = Math.max(rel, relDiff(a, b));
      }
    }
    agreement[name] = { rel, tolerance, ok: ok && rel <= tolerance };
    log(`peer ${name}: ${method.seconds.toFixed(2)} s (${method.runs.map((x) => x.toFixed(2)).join(', ')}), ${(method.eventsPerSecond / 1e6).toFixed(2)} M events/s; largest relative difference from ours ${rel.toExponential(1)} (tolerance ${tolerance})${agreement[name]!.ok ? '' : ' MISMATCH'}`);
  }
  return { interpreter: python.interpreter, output, agreement, sampleGroups: groups };
}

// ---------------------------------------------------------------------------------------------------
// (b) HTTP ingestion: the load generator runs in its own process (this file, started with a flag).

const INGEST_CLIENT_FLAG = '--stability-ingest-client';
const SELF = fileURLToPath(import.meta.url);

/** `columnar-gzip` is what the project's prediction logger sends: columnar JSON, gzipped. */
export type IngestFormat = 'ndjson' | 'columnar' | 'columnar-gzip';

const FORMAT_LABEL: Record<IngestFormat, string> = { ndjson: 'NDJSON', columnar: 'columnar JSON', 'columnar-gzip': 'columnar JSON, gzip' };

export interface IngestClientConfig {
  url: string;
  token: string;
  format: IngestFormat;
  connections: number;
  warmupMs: number;
  durationMs: number;
  eventsPerRequest: number;
  bodies: number;
  /** Live pairs of each model type: one request carries one type's events, as one serving host sends them. */
  types: Array<{ type: string; pairs: Pair[] }>;
  seed: number;
  serverPid: number;
  /** Epoch ms just before the server started: events are stamped 2 to 30 minutes before it. */
  anchorMs: number;
}

export interface IngestClientResult {
  format: IngestFormat;
  connections: number;
  eventsPerRequest: number;
  meanBodyBytes: number;
  prepareMs: number;
  /** Everything sent, warm-up included, and what the server said of it. */
  requests: number;
  eventsSent: number;
  accepted: number;
  rejected: number;
  failedRequests: number;
  errorSamples: string[];
  /** Requests completed within the measured window. */
  measuredEvents: number;
  measuredSeconds: number;
  latency: { p50: number; p99: number; max: number };
  serverCores: number;
  clientCores: number;
  restCores: number;
  /** Events sent per model, in requests the server answered with 200. */
  perModel: Record<string, number>;
}

interface PreparedBody {
  bytes: Buffer;
  events: number;
  perModel: Map<string, number>;
}

/**
 * Request bodies, encoded before the clock starts so the generator only sends bytes. Each holds the
 * events of one model type for a few seconds, stamped 2 to 30 minutes before the server started: well
 * inside the lateness bound, and all in minutes before the server could have evaluated any, so the
 * public stability query reads them from the minute sums.
 */
function prepareBodies(config: IngestClientConfig): PreparedBody[] {
  const next = mulberry32(config.seed);
  const bodies: PreparedBody[] = [];
  for (let k = 0; k < config.bodies; k++) {
    const { pairs } = config.types[k % config.types.length]!;
    const base = config.anchorMs - 2 * MINUTE_MS - Math.floor(next() * 28 * MINUTE_MS);
    const perModel = new Map<string, number>();
    const n = config.eventsPerRequest;
    const draw = () => {
      const p = Math.round((1 / (1 + Math.exp(-(-3 + 1.2 * (next() + next() + next() - 1.5) * 2)))) * 1e6) / 1e6;
      return { p, y: next() < p ? 1 : 0, ts: base + Math.floor(next() * 5000) };
    };
    let text: string;
    if (config.format === 'ndjson') {
      // One impression predicts every task of a model: lines of one model's tasks come together.
      const lines: string[] = [];
      for (let i = 0; i < n; i++) {
        const pair = pairs[i % pairs.length]!;
        const e = draw();
        lines.push(`{"model":${JSON.stringify(pair.model)},"task":"${pair.task}","p":${e.p},"y":${e.y},"ts":${e.ts}}`);
        perModel.set(pair.model, (perModel.get(pair.model) ?? 0) + 1);
      }
      text = `${lines.join('\n')}\n`;
    } else {
      const batches = pairs.map((pair, j) => {
        const size = Math.floor(n / pairs.length) + (j < n % pairs.length ? 1 : 0);
        const ps: number[] = [];
        const ys: number[] = [];
        const tss: number[] = [];
        for (let i = 0; i < size; i++) {
          const e = draw();
          ps.push(e.p);
          ys.push(e.y);
          tss.push(e.ts);
        }
        tss.sort((a, b) => a - b);
        perModel.set(pair.model, (perModel.get(pair.model) ?? 0) + size);
        return { model: pair.model, task: pair.task, p: ps, y: ys, ts: tss };
      });
      text = JSON.stringify(batches);
    }
    const bytes = Buffer.from(text, 'utf8');
    bodies.push({ bytes: config.format === 'columnar-gzip' ? gzipSync(bytes) : bytes, events: n, perModel });
  }
  return bodies;
}

/** Closed-loop clients, each sending its next body when the previous answer is read. */
async function runIngestClient(config: IngestClientConfig): Promise<IngestClientResult> {
  const prepared = performance.now();
  const bodies = prepareBodies(config);
  const prepareMs = performance.now() - prepared;
  const pool = new Pool(config.url, { connections: config.connections, pipelining: 1, keepAliveTimeout: 60_000, bodyTimeout: 120_000, headersTimeout: 120_000 });
  const headers = {
    authorization: `Bearer ${config.token}`,
    'content-type': config.format === 'ndjson' ? 'application/x-ndjson' : 'application/json',
    accept: 'application/json',
    ...(config.format === 'columnar-gzip' ? { 'content-encoding': 'gzip' } : {}),
  };
  const histogram = latencyHistogram();
  const sentCount = new Array<number>(bodies.length).fill(0);
  const result = { requests: 0, eventsSent: 0, accepted: 0, rejected: 0, failedRequests: 0, errorSamples: [] as string[], measuredEvents: 0 };
  const fail = (message: string) => {
    result.failedRequests += 1;
    if (result.errorSamples.length < 5) result.errorSamples.push(message);
  };
  let cursor = 0;
  const start = performance.now();
  const measureFrom = start + config.warmupMs;
  const end = measureFrom + config.durationMs;
  // CPU counters are read by timers at the window's two edges, so work after it is not counted in it.
  const sample = () => ({ server: processCpuSeconds(config.serverPid), self: process.cpuUsage(), machine: machineBusySeconds(), at: performance.now() });
  let cpu0: ReturnType<typeof sample> | null = null;
  let cpu1: ReturnType<typeof sample> | null = null;
  const timers = [setTimeout(() => (cpu0 = sample()), config.warmupMs), setTimeout(() => (cpu1 = sample()), config.warmupMs + config.durationMs)];
  const client = async () => {
    for (;;) {
      const sentAt = performance.now();
      if (sentAt >= end) return;
      const index = cursor++ % bodies.length;
      const body = bodies[index]!;
      result.requests += 1;
      result.eventsSent += body.events;
      try {
        const response = await pool.request({ method: 'POST', path: '/api/v1/events', headers, body: body.bytes });
        const text = await response.body.text();
        const done = performance.now();
        if (response.statusCode !== 200) {
          fail(`${response.statusCode}: ${text.slice(0, 300)}`);
          continue;
        }
        const answer = JSON.parse(text) as { accepted: number; rejected: number; errors?: Array<{ line: number; message: string }> };
        result.accepted += answer.accepted;
        result.rejected += answer.rejected;
        if (answer.rejected && result.errorSamples.length < 5) result.errorSamples.push(`rejected ${answer.rejected}: ${JSON.stringify(answer.errors?.slice(0, 2))}`);
        sentCount[index]! += 1;
        // Throughput counts the answers that arrived within the window, whenever they were sent.
        if (done >= measureFrom && done <= end) result.measuredEvents += body.events;
        if (sentAt >= measureFrom && done <= end) recordMs(histogram, done - sentAt);
      } catch (error) {
        fail((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: config.connections }, client));
  for (const timer of timers) clearTimeout(timer);
  const first: ReturnType<typeof sample> = cpu0 ?? sample();
  const last: ReturnType<typeof sample> = cpu1 ?? sample();
  const wall = (last.at - first.at) / 1000;
  const serverCores = (last.server - first.server) / wall;
  const clientCores = (last.self.user + last.self.system - first.self.user - first.self.system) / 1e6 / wall;
  const restCores = Math.max(0, (last.machine - first.machine) / wall - serverCores - clientCores);
  await pool.close();
  const perModel: Record<string, number> = {};
  bodies.forEach((body, i) => {
    for (const [model, n] of body.perModel) perModel[model] = (perModel[model] ?? 0) + n * sentCount[i]!;
  });
  const latency = summarize(histogram);
  return {
    format: config.format,
    connections: config.connections,
    eventsPerRequest: config.eventsPerRequest,
    meanBodyBytes: bodies.reduce((a, b) => a + b.bytes.length, 0) / bodies.length,
    prepareMs,
    ...result,
    measuredSeconds: config.durationMs / 1000,
    latency: { p50: latency.p50, p99: latency.p99, max: latency.max },
    serverCores,
    clientCores,
    restCores,
    perModel,
  };
}

/** Runs the load generator in a child process and waits for its report. */
export function ingestInChild(config: IngestClientConfig): Promise<IngestClientResult> {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, [INGEST_CLIENT_FLAG], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answered = false;
    child.once('message', (message) => {
      answered = true;
      const m = message as { result?: IngestClientResult; error?: string };
      if (m.error) reject(new Error(`ingest load generator: ${m.error}`));
      else resolve(m.result!);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (!answered) reject(new Error(`ingest load generator exited with ${code} before reporting`));
    });
    child.send(config);
  });
}

if (process.argv[2] === INGEST_CLIENT_FLAG && process.argv[1] === SELF && process.send) {
  process.once('message', (config) => {
    runIngestClient(config as IngestClientConfig).then(
      (result) => process.send!({ result }, () => process.exit(0)),
      (error: unknown) => process.send!({ error: (error as Error).stack ?? String(error) }, () => process.exit(1)),
    );
  });
}

type HttpRun = IngestClientResult & { calibrationMs: number };

interface HttpResults {
  runs: HttpRun[];
  /** What the store holds for the run's minutes, against what was sent. */
  totals: { checked: boolean; how: string; expected: number; stored: number; modelsChecked: number; mismatches: string[] };
  /** What `GET /api/v1/models/{id}/stability` said of the busiest models, or why it could not be asked. */
  publicQuery: { ok: boolean; note: string };
  seedMs: number;
  models: number;
}

const SEED_WORKER = fileURLToPath(new URL('./lib/seedWorker.js', import.meta.url));

/** One small request first: is the route there, and does it take our events? */
async function probeIngest(server: ServerProcess, pair: Pair, anchorMs: number): Promise<string | null> {
  const line = JSON.stringify({ model: pair.model, task: pair.task, p: 0.5, y: 1, ts: anchorMs - 3 * MINUTE_MS });
  const response = await fetch(`${server.url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-ndjson' }, body: `${line}\n` });
  const text = await response.text();
  if (response.status === 404) return `POST /api/v1/events answered 404 (${text.slice(0, 200)}): the ingestion route is not in this build`;
  if (response.status !== 200) return `POST /api/v1/events answered ${response.status}: ${text.slice(0, 300)}`;
  const answer = JSON.parse(text) as { accepted?: number };
  if (answer.accepted !== 1) return `POST /api/v1/events did not accept a valid event: ${text.slice(0, 300)}`;
  return null;
}

/** Events sent per model over all runs, plus the probe's one. */
function expectedPerModel(runs: readonly IngestClientResult[], probeModel: string): Map<string, number> {
  const expected = new Map<string, number>([[probeModel, 1]]);
  for (const run of runs) for (const [model, n] of Object.entries(run.perModel)) expected.set(model, (expected.get(model) ?? 0) + n);
  return expected;
}

/**
 * The public way to see the totals: `GET /api/v1/models/{id}/stability` per minute over the 40
 * minutes before the server started (where every event was stamped, and no verdict can exist, so the
 * points are the minute sums themselves), for the three busiest models: every task's counts summed.
 */
async function queryStability(server: ServerProcess, expected: Map<string, number>, anchorMs: number): Promise<{ ok: boolean; note: string }> {
  const to = anchorMs - (anchorMs % MINUTE_MS);
  const from = to - 40 * MINUTE_MS;
  const notes: string[] = [];
  let ok = true;
  for (const [model, sent] of [...expected].sort((a, b) => b[1] - a[1]).slice(0, 3)) {
    const path = `/api/v1/models/${encodeURIComponent(model)}/stability?from=${from}&to=${to}&step=1m`;
    try {
      const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const text = await response.text();
      if (response.status === 404 && /no route/.test(text)) return { ok: false, note: '`GET /api/v1/models/{id}/stability` is not in this build, so the public query was not checked' };
      if (!response.ok) return { ok: false, note: `\`GET ${path}\` answered ${response.status}: ${text.slice(0, 200)}` };
      const body = JSON.parse(text) as { source?: string; tasks?: Array<{ points?: Array<{ count?: number }> }> };
      if (body.source !== 'buckets') return { ok: false, note: `\`GET ${path}\` answered from '${body.source}', whose rolling-window counts do not add up per minute: not compared` };
      const total = (body.tasks ?? []).flatMap((t) => t.points ?? []).reduce((a, p) => a + (p.count ?? 0), 0);
      if (total !== sent) ok = false;
      notes.push(`${model} ${total.toLocaleString('en-US')} of ${sent.toLocaleString('en-US')}`);
    } catch (error) {
      return { ok: false, note: `\`GET ${path}\` failed: ${(error as Error).message}` };
    }
  }
  return { ok, note: `\`GET /api/v1/models/{id}/stability?from&to&step=1m\` for the three busiest models, events over every task and minute against events sent: ${notes.join(', ')} (${ok ? 'equal' : '**differ**'})` };
}

/**
 * After the run, with the server stopped: the store's minute sums over the run's span, per model,
 * against the events each model was sent (plus the probe's one event): every model, through the
 * store port, whatever the public routes show.
 */
async function checkTotals(db: string, workDir: string, expected: Map<string, number>): Promise<HttpResults['totals']> {
  const fleet = await createModelfleet({ db, adminToken: ADMIN_TOKEN, dataDir: workDir, logger: pino({ level: 'silent' }) });
  try {
    const now = Date.now();
    const rows = await fleet.stabilityStore.windowSums(now - 2 * 60 * MINUTE_MS, now + MINUTE_MS);
    const stored = new Map<string, number>();
    for (const row of rows) stored.set(row.modelId, (stored.get(row.modelId) ?? 0) + row.sums.count);
    const mismatches: string[] = [];
    for (const model of new Set([...expected.keys(), ...stored.keys()])) {
      const e = expected.get(model) ?? 0;
      const s = stored.get(model) ?? 0;
      if (e !== s) mismatches.push(`${model}: sent ${e}, stored ${s}`);
    }
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    return { checked: true, how: 'the store\'s minute sums (`StabilityStore.windowSums`) per model, read after the server stopped', expected: sum(expected), stored: sum(stored), modelsChecked: expected.size, mismatches };
  } finally {
    await fleet.close();
  }
}

async function benchHttp(plan: Plan, byType: Map<string, Pair[]>, workDir: string, skipped: string[]): Promise<HttpResults | null> {
  const db = `sqlite:${join(workDir, 'ingest.db')}`;
  log(`HTTP: seeding a fleet of ${FLEET_MODELS} models in a child process...`);
  const seeded = await runProcess([SEED_WORKER, db, String(FLEET_MODELS), String(DEFAULT_FLEET_SEED), workDir], { MODELFLEET_ADMIN_TOKEN: ADMIN_TOKEN });
  if (seeded.code !== 0) throw new Error(`seeding failed (exit ${seeded.code}):\n${seeded.stderr.slice(-2000)}`);
  const { ms: seedMs } = JSON.parse(seeded.stdout) as { ms: number };
  const types = [...byType].map(([type, pairs]) => ({ type, pairs }));
  const probePair = types[0]!.pairs[0]!;
  log('HTTP: starting modelfleet serve in a child process...');
  const anchorMs = Date.now();
  const server = await startServerProcess({ db, adminToken: ADMIN_TOKEN, dataDir: workDir });
  const runs: HttpRun[] = [];
  let publicQuery = { ok: false, note: 'not asked' };
  try {
    const why = await probeIngest(server, probePair, anchorMs);
    if (why) {
      log(`skipping HTTP ingestion: ${why}`);
      skipped.push(`(b) HTTP ingestion: ${why}`);
      return null;
    }
    const formats: Array<[IngestFormat, number]> = [
      ['ndjson', plan.http.ndjsonEventsPerRequest],
      ['columnar', plan.http.columnarEventsPerRequest],
      ['columnar-gzip', plan.http.columnarEventsPerRequest],
    ];
    for (const [format, eventsPerRequest] of formats) {
      log(`HTTP ${format}: ${plan.http.connections} connections, ${eventsPerRequest} events per request, ${plan.http.warmupMs / 1000} s warm-up + ${plan.http.durationMs / 1000} s...`);
      collectGarbage();
      const calibrationMs = calibrate();
      const result = await ingestInChild({
        url: server.url,
        token: ADMIN_TOKEN,
        format,
        connections: plan.http.connections,
        warmupMs: plan.http.warmupMs,
        durationMs: plan.http.durationMs,
        eventsPerRequest,
        bodies: plan.http.bodies,
        types,
        seed: DATA_SEED + (format === 'ndjson' ? 2 : 3),
        serverPid: server.pid,
        anchorMs,
      });
      const run = { ...result, calibrationMs };
      runs.push(run);
      log(
        `HTTP ${format}: ${(run.measuredEvents / run.measuredSeconds).toFixed(0)} events/s (${run.requests} requests, ${run.eventsSent} events sent, ${run.accepted} accepted, ${run.rejected} rejected, ${run.failedRequests} failed` +
          `${run.errorSamples.length ? `: ${run.errorSamples[0]}` : ''}); latency p50 ${run.latency.p50.toFixed(1)} ms, p99 ${run.latency.p99.toFixed(1)} ms; ` +
          `CPU cores: server ${run.serverCores.toFixed(2)}, load generator ${run.clientCores.toFixed(2)}, rest ${run.restCores.toFixed(2)}; mean body ${(run.meanBodyBytes / 1024).toFixed(0)} KiB (prepared in ${run.prepareMs.toFixed(0)} ms)`,
      );
    }
    publicQuery = await queryStability(server, expectedPerModel(runs, probePair.model), anchorMs);
    log(`HTTP public query: ${publicQuery.note}`);
  } finally {
    await server.stop();
  }
  let totals: HttpResults['totals'];
  try {
    totals = await checkTotals(db, workDir, expectedPerModel(runs, probePair.model));
    log(`HTTP totals: sent ${totals.expected} events over ${totals.modelsChecked} models, the store holds ${totals.stored}; ${totals.mismatches.length} model(s) differ${totals.mismatches.length ? `, e.g. ${totals.mismatches[0]}` : ''}`);
  } catch (error) {
    totals = { checked: false, how: `not checked: reading the store failed (${(error as Error).message})`, expected: 0, stored: 0, modelsChecked: 0, mismatches: [] };
    log(`HTTP totals: ${totals.how}`);
  }
  return { runs, totals, publicQuery, seedMs, models: FLEET_MODELS };
}

// ---------------------------------------------------------------------------------------------------
// Report

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const millions = (rate: number) => `${(rate / 1e6).toFixed(1)} M`;
const thousands = (rate: number) => (rate >= 1e6 ? millions(rate) : `${Math.round(rate / 1000)} k`);
const ratio = (x: number) => (x >= 10 ? `${x.toFixed(0)}x` : `${x.toFixed(1)}x`);
const percent = (x: number) => `${(x * 100).toPrecision(2)}%`;

function report(plan: Plan, quick: boolean, core: CoreResults, peers: PeerResults | null, http: HttpResults | null, skipped: string[]): { markdown: string; problems: string[] } {
  const problems: string[] = [];
  const m = machine();
  const lines: string[] = [];
  const big = core.runs.filter((r) => r.events === plan.events);
  const run = (variant: Variant, events = plan.events) => core.runs.find((r) => r.variant === variant && r.events === events)!;
  const minuteColumns = run('minute-columns');
  const minuteEvents = run('minute-events');
  const pairColumns = run('pair-columns');

  lines.push('## Stability: aggregation core, HTTP ingestion, numpy and scikit-learn (`bench/stability.ts`)');
  lines.push('');
  lines.push(`- Run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`npm run bench -- --only=stability${quick ? ' --quick' : ''}\``);
  lines.push(`- Machine: ${machineLine(m)}${peers ? `; Python ${peers.output.python} (\`${peers.interpreter}\`), numpy ${peers.output.numpy}, scikit-learn ${peers.output.sklearn ?? '-'}` : ''}`);
  lines.push(
    `- Data: ${plan.events.toLocaleString('en-US')} labeled predictions (and ${plan.smallEvents.toLocaleString('en-US')} for the memory comparison) over ${plan.pairs.toLocaleString('en-US')} (model, task) pairs of the benchmark fleet and ${plan.minutes} minutes, ` +
      `in ${core.batches.toLocaleString('en-US')} columnar batches of up to ${plan.batchSize} events of one pair (Float64Array p and ts, Uint8Array y, no weights), batches ordered by time. ` +
      `Traffic per pair is Zipf-like (${core.pairEvents.min.toLocaleString('en-US')} to ${core.pairEvents.max.toLocaleString('en-US')} events per pair), p logit-normal per pair and y ~ Bernoulli(c p) with c in [0.8, 1.2] ` +
      `(positive rate per pair ${percent(core.positiveRate.min)} to ${percent(core.positiveRate.max)}, median ${percent(core.positiveRate.median)}); generated from a fixed seed.`,
  );
  lines.push(
    `- Core runs: one thread, data in memory, ${plan.repetitions} repetitions of each path on fresh sums (accumulators created during the run, as ingestion creates them), the paths taking turns; median and fastest shown. ` +
      'Calibration: the registry benchmark\'s fixed CPU task (30,000 JSON round trips) timed before and after the runs (median shown); it takes longer when the shared machine is busy.',
  );
  if (skipped.length) lines.push(`- Skipped: ${skipped.join('; ')}`);
  lines.push('');

  lines.push('### (a) Aggregation core, one core');
  lines.push('');
  const pairEvents = run('pair-events');
  const coreRows = big.map((r) => [
    VARIANT_LABEL[r.variant],
    r.events.toLocaleString('en-US'),
    r.accumulators.toLocaleString('en-US'),
    `${(median(r.seconds) * 1000).toFixed(0)} / ${(Math.min(...r.seconds) * 1000).toFixed(0)}`,
    `**${millions(r.rate)}**`,
    millions(r.events / Math.min(...r.seconds)),
    r.variant === 'minute-columns' ? ratio(r.rate / minuteEvents.rate) : r.variant === 'pair-columns' ? ratio(r.rate / pairEvents.rate) : '1x',
    r.calibrationMs.toFixed(0),
  ]);
  lines.push(table(['path', 'events', 'accumulators', 'ms (median / fastest)', 'events/s (median)', 'events/s (fastest)', 'vs `add()` per event, same grouping', 'calibration ms'], coreRows));
  lines.push('');
  lines.push(
    `Per pair x minute is what ingestion keeps: each batch finds its pair once, is cut into runs of one minute (one compare per event), and each run goes to \`addColumns\`. ` +
      '`add()` checks every value and is called per event; `addColumns` trusts values its caller validated and keeps the compensated sums in registers. ' +
      `Both give the same sums: largest relative difference over all pairs ${core.columnsVsEvents.rel.toExponential(1)}, counts ${core.columnsVsEvents.countsEqual ? 'equal' : '**differ**'}; ` +
      `minutes merged per pair against the per-pair sums: ${core.minutesVsPairs.rel.toExponential(1)}. ` +
      `Per minute the runs are short (${(plan.events / minuteColumns.accumulators).toFixed(0)} events per pair-minute on average), so creating the ${minuteColumns.accumulators.toLocaleString('en-US')} accumulators (an object and four small arrays each, all surviving the young generation) and finding them costs as much as the arithmetic or more, and the garbage collection of that makes these rows vary the most; per pair it is the arithmetic alone, where \`addColumns\` shows what it saves.`,
  );
  lines.push('');

  lines.push('### Memory: bounded by pairs x minutes, not by events');
  lines.push('');
  const memoryRows = core.runs
    .filter((r) => r.variant === 'minute-columns')
    .map((r) => [
      r.events.toLocaleString('en-US'),
      r.accumulators.toLocaleString('en-US'),
      mib(r.retainedBytes),
      `${Math.round(r.retainedBytes / r.accumulators)}`,
      mib(r.heapGrowthBytes),
      mib(r.rssGrowthBytes),
    ]);
  lines.push(table(['events', 'accumulators (pairs x minutes)', 'heap retained by the sums (after a full GC)', 'bytes per accumulator', 'heap growth during the run', 'RSS growth during the run'], memoryRows));
  lines.push('');
  const small = run('minute-columns', plan.smallEvents);
  const memoryRatio = minuteColumns.retainedBytes / small.retainedBytes;
  lines.push(
    `${(plan.events / plan.smallEvents).toFixed(0)}x the events, ${ratio(memoryRatio)} the memory: the sums are ${minuteColumns.accumulators.toLocaleString('en-US')} accumulators either way (four compensated sums and a count each, in a map per pair). ` +
      'The columnar loop allocates nothing per event, so the heap grows only by the new accumulators; RSS grows by no more than that (not at all when the heap reuses space an earlier repetition freed). ' +
      'The input columns themselves are not counted (typed arrays, off the JS heap); ingestion holds one request body at a time.',
  );
  lines.push('');

  if (http) {
    lines.push('### (b) HTTP ingestion, end to end');
    lines.push('');
    const runs = http.runs;
    lines.push(
      `\`modelfleet serve\` (SQLite, log level warn) in a child process with the ${http.models}-model fleet seeded; the load generator is another process (undici Pool, ${plan.http.connections} connections, closed loop, bodies encoded before the clock starts), ` +
        `this benchmark's process idles meanwhile. The server's JavaScript runs on one thread, so it uses about one core (a little more with its garbage collector's and, for gzip, zlib's helper threads); the generator has the other of the machine's ${m.cores}. ` +
        `Each request carries the events of one model type (its live models and tasks, a few seconds of traffic stamped 2-30 minutes before the server started, inside the one-hour lateness bound), as one serving host sends them; columnar bodies hold one batch per (model, task) with per-event \`ts\` arrays, and the gzip row sends the same bodies compressed, as the project's prediction logger does. ` +
        `Warm-up ${plan.http.warmupMs / 1000} s, then ${plan.http.durationMs / 1000} s measured.`,
    );
    lines.push('');
    const rows = runs.map((r) => {
      const rate = r.measuredEvents / r.measuredSeconds;
      return [
        FORMAT_LABEL[r.format],
        r.eventsPerRequest.toLocaleString('en-US'),
        `${(r.meanBodyBytes / 1024).toFixed(0)} KiB`,
        `**${thousands(rate)}**`,
        `${thousands(rate / Math.max(r.serverCores, 1e-9))}`,
        `${r.latency.p50.toFixed(1)} / ${r.latency.p99.toFixed(1)}`,
        `${r.requests} / ${r.eventsSent.toLocaleString('en-US')}`,
        `${r.accepted.toLocaleString('en-US')} / ${r.rejected} / ${r.failedRequests}`,
        `${r.serverCores.toFixed(2)} / ${r.clientCores.toFixed(2)} / ${r.restCores.toFixed(2)}`,
        r.calibrationMs.toFixed(0),
      ];
    });
    lines.push(
      table(
        ['body', 'events/request', 'body size', 'events/s', 'events/s per server core', 'latency p50 / p99 ms', 'requests / events sent (incl. warm-up)', 'accepted / rejected / failed requests', 'CPU cores: server / load gen / rest', 'calibration ms'],
        rows,
      ),
    );
    lines.push('');
    lines.push(
      'CPU columns: average cores busy over the measured window, for the server process, the load generator process, and the rest of the machine (other work on the shared machine: anything above ~0.1 there took CPU time the server could have had).',
    );
    lines.push('');
    const t = http.totals;
    lines.push(
      t.checked
        ? `Every event accounted for: the answers' \`accepted\` add up to the events sent (${runs.every((r) => r.accepted === r.eventsSent && r.rejected === 0 && r.failedRequests === 0) ? 'yes' : '**no**'}), and the store holds ${t.stored.toLocaleString('en-US')} events in the run's minutes against ${t.expected.toLocaleString('en-US')} sent, ` +
            `per model over ${t.modelsChecked} models: ${t.mismatches.length ? `**${t.mismatches.length} differ**, e.g. ${t.mismatches[0]}` : 'all equal'} (checked with ${t.how}). Public query: ${http.publicQuery.note}.`
        : `Totals against the store: ${t.how}. Public query: ${http.publicQuery.note}.`,
    );
    lines.push('');
    for (const r of runs) {
      if (r.failedRequests || r.rejected || r.accepted !== r.eventsSent) problems.push(`HTTP ${r.format}: ${r.eventsSent} events sent, ${r.accepted} accepted, ${r.rejected} rejected, ${r.failedRequests} failed requests${r.errorSamples.length ? ` (${r.errorSamples[0]})` : ''}`);
    }
    if (t.checked && (t.mismatches.length || t.stored !== t.expected)) problems.push(`HTTP: the store holds ${t.stored} events, ${t.expected} were sent (${t.mismatches.length} models differ)`);
    if (!t.checked) problems.push(`HTTP: ${t.how}`);
    if (!http.publicQuery.ok) problems.push(`HTTP public query: ${http.publicQuery.note}`);
  }

  if (peers) {
    lines.push('### (c) numpy and scikit-learn on the same data');
    lines.push('');
    lines.push(
      `The same ${plan.events.toLocaleString('en-US')} events, written to a binary file (float64 p, uint8 y, int32 pair id) and loaded by \`bench/lib/stabilityPeer.py\` ` +
        `(load ${peers.output.loadSeconds.toFixed(2)} s, not timed below), which computes per pair: count, positives, sum of p, mean log loss, calibration = p.sum() / y.sum(), NE. ` +
        'Ours is the per-pair `addColumns` run (the same grouping).',
    );
    lines.push('');
    const peerRows: string[][] = [['modelfleet `addColumns` (TypeScript)', 'per-pair compensated sums, one pass over the batches', `${median(pairColumns.seconds).toFixed(2)} (median of ${pairColumns.seconds.length})`, `**${millions(pairColumns.rate)}**`, '1x', '-']];
    const describe: Record<string, string> = {
      numpy: 'vectorized: clip, log, log1p over all events, then `np.bincount(g, weights=...)` per sum',
      sklearn: 'the loop users write: per pair `m = g == k`, `log_loss(y[m], p[m], labels=[0, 1])`, `p[m].sum() / y[m].sum()`',
    };
    for (const [name, method] of Object.entries(peers.output.methods)) {
      const a = peers.agreement[name]!;
      peerRows.push([
        name === 'sklearn' ? `scikit-learn ${peers.output.sklearn}` : `numpy ${peers.output.numpy}`,
        describe[name] ?? name,
        method.runs.length > 1 ? `${method.seconds.toFixed(2)} (median of ${method.runs.length})` : method.seconds.toFixed(2),
        `**${millions(method.eventsPerSecond)}**`,
        ratio(pairColumns.rate / method.eventsPerSecond),
        `${a.rel.toExponential(1)} (${a.ok ? 'within' : '**outside**'} ${a.tolerance})`,
      ]);
      if (!a.ok) problems.push(`peer ${name} disagrees with modelfleet: largest relative difference ${a.rel.toExponential(1)} (tolerance ${a.tolerance})`);
    }
    lines.push(table(['implementation', 'how', 's', 'events/s', 'modelfleet is faster by', 'largest relative difference from modelfleet'], peerRows));
    lines.push('');
    lines.push(
      `Agreement is checked on ${peers.sampleGroups.length} pairs (the busiest, the quietest, and random ones: count, positives, sum of p, log loss, calibration, NE) and on checksums over all pairs (sums of NE and of calibration). ` +
        'numpy clamps p to [1e-15, 1 - 1e-15] like modelfleet and must agree to 1e-9; scikit-learn is called as users call it, without `eps`, so it clips to float64 epsilon ' +
        `(${peers.output.sklearn} defaults \`eps='auto'\`; later versions drop the argument) and takes log(1 - p) rather than log1p(-p): it is held to 1e-6. ` +
        'The scikit-learn loop scans all events once per pair (the boolean mask), so its cost grows with pairs x events.',
    );
    lines.push('');
  }

  lines.push('### Targets');
  lines.push('');
  const targetRows: string[][] = [];
  const coreMet = minuteColumns.rate >= TARGET_CORE_EVENTS_PER_SECOND;
  targetRows.push([`aggregation core >= ${millions(TARGET_CORE_EVENTS_PER_SECOND)} events/s per core (${plan.events.toLocaleString('en-US')} events, ${plan.pairs} pairs, per minute)`, `**${millions(minuteColumns.rate)}**`, coreMet ? 'met' : '**missed**']);
  if (!coreMet) problems.push(`aggregation core: ${millions(minuteColumns.rate)} events/s (target ${millions(TARGET_CORE_EVENTS_PER_SECOND)})`);
  const memoryMet = memoryRatio < 1.1 && memoryRatio > 0.9;
  targetRows.push([`memory bounded by pairs x minutes: ${(plan.events / plan.smallEvents).toFixed(0)}x the events, same retained heap (within 10%)`, `${mib(small.retainedBytes)} -> ${mib(minuteColumns.retainedBytes)}`, memoryMet ? 'met' : '**missed**']);
  if (!memoryMet) problems.push(`memory: retained ${mib(small.retainedBytes)} at ${plan.smallEvents} events but ${mib(minuteColumns.retainedBytes)} at ${plan.events}`);
  for (const [format, target] of [['ndjson', TARGET_NDJSON_EVENTS_PER_SECOND], ['columnar', TARGET_COLUMNAR_EVENTS_PER_SECOND]] as const) {
    const label = `HTTP ${format === 'ndjson' ? 'NDJSON' : 'columnar'} >= ${thousands(target)} events/s, every event accounted for`;
    const r = http?.runs.find((x) => x.format === format);
    if (!r) {
      targetRows.push([label, 'not run', '**not judged**']);
      problems.push(`${label}: not run (${skipped.find((s) => s.startsWith('(b)')) ?? 'see the log'})`);
      continue;
    }
    const rate = r.measuredEvents / r.measuredSeconds;
    const accounted = r.accepted === r.eventsSent && r.rejected === 0 && r.failedRequests === 0 && !!http?.totals.checked && http.totals.mismatches.length === 0;
    const met = rate >= target && accounted;
    targetRows.push([label, `**${thousands(rate)}**${accounted ? '' : ', not all accounted for'}`, met ? 'met' : '**missed**']);
    if (rate < target) problems.push(`HTTP ${format}: ${thousands(rate)} events/s (target ${thousands(target)})`);
  }
  lines.push(table(['target', 'measured', 'status'], targetRows));
  return { markdown: lines.join('\n'), problems };
}

// ---------------------------------------------------------------------------------------------------

export async function runStabilityBench(options: StabilityBenchOptions): Promise<BenchOutcome> {
  const plan = options.quick ? QUICK : FULL;
  const workDir = mkdtempSync(join(tmpdir(), 'modelfleet-bench-stability-'));
  const skipped: string[] = [];
  try {
    const { pairs: fleet, byType } = fleetPairs();
    if (fleet.length < plan.pairs) throw new Error(`the ${FLEET_MODELS}-model fleet has ${fleet.length} live (model, task) pairs, fewer than the ${plan.pairs} wanted`);
    const keys = fleet.slice(0, plan.pairs).map((p) => `${p.model}\u0000${p.task}`);
    const core: CoreResults = {
      runs: [],
      columnsVsEvents: { rel: NaN, countsEqual: false },
      minutesVsPairs: { rel: NaN, countsEqual: false },
      pairSums: [],
      batches: 0,
      pairEvents: { min: 0, max: 0 },
      positiveRate: { min: NaN, median: NaN, max: NaN },
    };

    // The small data set first, dropped before the big one is made, so each run's memory is its own.
    log(`generating ${plan.smallEvents} events over ${plan.pairs} pairs and ${plan.minutes} minutes...`);
    benchCore(plan, keys, generateDataset(plan.smallEvents, plan.pairs, plan.minutes, plan.batchSize, DATA_SEED), true, core);
    log(`generating ${plan.events} events over ${plan.pairs} pairs and ${plan.minutes} minutes...`);
    let started = performance.now();
    let data: Dataset | null = generateDataset(plan.events, plan.pairs, plan.minutes, plan.batchSize, DATA_SEED);
    log(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s: ${data.batchPair.length} batches`);
    benchCore(plan, keys, data, false, core);

    started = performance.now();
    const peers = await benchPeers(data, core.pairSums, workDir, skipped);
    log(`peers took ${((performance.now() - started) / 1000).toFixed(0)} s`);
    data = null;
    collectGarbage();

    const http = await benchHttp(plan, byType, workDir, skipped);
    const { markdown, problems } = report(plan, options.quick, core, peers, http, skipped);
    return { id: 'stability', markdown, problems };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
