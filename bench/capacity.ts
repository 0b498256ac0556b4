import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { estimateCapacity, type CapacityEstimate } from '../src/capacity/estimateCapacity.js';
import { startKnownCapacityServer, type KnownCapacityStats } from '../src/capacity/knownCapacityServer.js';
import { DEFAULT_TRANSPORT, LoadGenerator } from '../src/capacity/loadGenerator.js';
import { parseRecordingOrThrow, type ReplayRequest } from '../src/capacity/recording.js';
import { judgeStep, type Stoppers } from '../src/capacity/stoppers.js';
import { mulberry32 } from '../src/sim/random.js';
import { machine, machineLine, table } from './lib/benchmarksDoc.js';
import { CLI, freePort, machineBusySeconds, processCpuSeconds, ROOT } from './lib/childServer.js';
import { calibrate } from './lib/calibration.js';
import type { BenchOutcome } from './registry.js';

/**
 * The load generator and the capacity search, two ways:
 *
 * (a) throughput: the most requests per second the generator sends from one core to a trivial
 *     local server, next to autocannon and wrk in the same run, on the same core, with the same
 *     connections, duration and request;
 * (b) accuracy and time: `estimateCapacity` against servers whose capacity is known (the
 *     known-capacity server) or measured independently (the model server: its stable rate from long
 *     open-loop runs at fixed rates, see {@link modelStableRate}, with its closed-loop saturated
 *     throughput alongside), next to a naive fixed-step ramp run with the same generator, steps and
 *     stoppers.
 */

export interface CapacityBenchOptions {
  quick: boolean;
}

/** Targets from the issue. */
const TARGET_VS_AUTOCANNON = 1;
const TARGET_VS_WRK = 0.5;
const TARGET_ERROR = 0.05;
const TARGET_SECONDS = 60;

/** Error-rate stopper of every search here. */
const MAX_ERROR_RATE = 0.001;
const MODEL_ID = 'ig_feed_mtml:v3';

interface KnownTarget {
  slots: number;
  serviceTimeMs: number;
  p99Ms: number;
}

/**
 * How the model server's stable-rate truth is measured (see {@link modelStableRate}): long
 * constant-rate runs on a grid of shares of its closed-loop saturated throughput, bisected.
 */
export interface YardstickPlan {
  /** Each run: this long at the rate before the measured window, then the window. */
  warmupMs: number;
  durationMs: number;
  /** The grid: from `lowShare` to `highShare` of the saturated throughput, `gridShare` apart. */
  lowShare: number;
  highShare: number;
  gridShare: number;
  /** Runs a rate must hold, every one of them, to count as stable: one lucky run does not decide. */
  holds: number;
  /** Pause after a run that failed, so the queue it left drains before the next rate. */
  cooldownMs: number;
}

interface Plan {
  throughput: {
    connections: number;
    warmupMs: number;
    durationMs: number;
    /** The trivial servers, in order; against each, every tool runs once per round, the tools taking turns. */
    servers: Array<{ kind: TrivialKind; rounds: number }>;
    /** Our generator's rate: this multiple of the best rate its short probes reached. */
    overOffer: number;
  };
  search: {
    stepDurationMs: number;
    warmupMs: number;
    /** The naive ramp's increment, and the wall time after which it gives up. */
    naiveStepQps: number;
    naiveBudgetMs: number;
    /**
     * The search's bisection tolerance. Its answer is the last good rate, up to this far below the
     * first bad one; the default 5% would use up the whole accuracy target on its own.
     */
    tolerance: number;
  };
  known: KnownTarget[];
  model: {
    candidates: number;
    requests: number;
    p99Ms: number;
    truthConnections: number;
    truthWarmupMs: number;
    truthDurationMs: number;
    /** Capacity searches on the model server, in a row between the two stable-rate yardsticks: its capacity moves from minute to minute. */
    searches: number;
    yardstick: YardstickPlan;
  };
}

const FULL: Plan = {
  throughput: {
    connections: 64,
    warmupMs: 1500,
    durationMs: 5000,
    servers: [
      { kind: 'http', rounds: 1 },
      { kind: 'net', rounds: 2 },
    ],
    overOffer: 1.25,
  },
  search: { stepDurationMs: 2000, warmupMs: 500, naiveStepQps: 50, naiveBudgetMs: 75_000, tolerance: 0.025 },
  known: [
    { slots: 8, serviceTimeMs: 10, p99Ms: 50 },
    { slots: 3, serviceTimeMs: 16, p99Ms: 80 },
  ],
  model: {
    candidates: 50,
    requests: 32,
    p99Ms: 50,
    truthConnections: 16,
    truthWarmupMs: 1000,
    truthDurationMs: 5000,
    searches: 3,
    // 31 grid rates: 5 bisection steps, at most 2 runs of 12 s each, so under about 2.5 minutes.
    yardstick: { warmupMs: 2000, durationMs: 10_000, lowShare: 0.4, highShare: 1, gridShare: 0.02, holds: 2, cooldownMs: 2000 },
  },
};

const QUICK: Plan = {
  throughput: {
    ...FULL.throughput,
    warmupMs: 1000,
    durationMs: 3000,
    servers: [
      { kind: 'http', rounds: 1 },
      { kind: 'net', rounds: 1 },
    ],
  },
  search: { ...FULL.search, naiveBudgetMs: 45_000 },
  known: [FULL.known[0]!],
  model: { ...FULL.model, truthWarmupMs: 1000, truthDurationMs: 4000, searches: 1, yardstick: { ...FULL.model.yardstick, warmupMs: 1000, durationMs: 6000 } },
};

const SELF = fileURLToPath(import.meta.url);
const log = (message: string) => process.stderr.write(`[bench capacity] ${message}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------
// Traffic: recordings as the CLI reads them, parsed by the same code.

/** One small predict request, as a recording line: the request of part (a), for every tool. */
const SMALL_LINE = JSON.stringify({
  method: 'POST',
  path: '/predict',
  body: {
    user: { id: 'u42', features: { country: 'us', age: 31 } },
    candidates: [
      { id: 'c1', features: { media: 'video', likes: 40 } },
      { id: 'c2', features: { media: 'photo', likes: 7 } },
    ],
  },
});

/** Predict requests for the model server, as recording text: `requests` users with `candidates` candidates each, from a fixed seed. */
export function modelRecording(requests: number, candidates: number): string {
  const next = mulberry32(20261126);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  const lines: string[] = [];
  for (let r = 0; r < requests; r++) {
    const user = {
      id: `u${Math.floor(next() * 1e6)}`,
      features: { country: pick(['us', 'br', 'in', 'de', 'jp', 'mx']), age: 18 + Math.floor(next() * 50), follows: Array.from({ length: 5 }, () => `a${Math.floor(next() * 500)}`) },
    };
    const items = Array.from({ length: candidates }, (_, i) => ({
      id: `c${r}-${i}`,
      features: { media: pick(['video', 'photo', 'reel', 'carousel']), author: `a${Math.floor(next() * 500)}`, likes: Math.floor(next() ** 3 * 100_000), topics: [`t${Math.floor(next() * 200)}`, `t${Math.floor(next() * 200)}`] },
    }));
    lines.push(JSON.stringify({ method: 'POST', path: '/predict', body: { user, candidates: items } }));
  }
  return `${lines.join('\n')}\n`;
}

/** A request as it crosses into a child process: the body as text (every body here is JSON). */
interface WireRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

const toWire = (r: ReplayRequest): WireRequest => ({ method: r.method, path: r.path, headers: r.headers, body: r.body?.toString('utf8') ?? '' });
const fromWire = (r: WireRequest): ReplayRequest => ({ method: r.method as ReplayRequest['method'], path: r.path, headers: r.headers, body: Buffer.from(r.body, 'utf8'), ts: null });

// ---------------------------------------------------------------------------------------------------
// CPU placement: on a machine with two cores or more, load generators get core 0 and the server the rest.

interface Placement {
  pinned: boolean;
  /** taskset lists, and the same as CPU numbers. */
  generatorCpus: string;
  serverCpus: string;
  generatorCpuList: number[];
  serverCpuList: number[];
  why: string;
}

function placement(cores: number): Placement {
  const all = Array.from({ length: cores }, (_, i) => i);
  const shared = (why: string): Placement => ({ pinned: false, generatorCpus: '', serverCpus: '', generatorCpuList: all, serverCpuList: all, why });
  if (cores < 2) return shared('one core: generator and server share it');
  if (spawnSync('taskset', ['-V'], { encoding: 'utf8' }).status !== 0) return shared('taskset (util-linux) not found: generator and server share the cores');
  return { pinned: true, generatorCpus: '0', serverCpus: cores === 2 ? '1' : `1-${cores - 1}`, generatorCpuList: [0], serverCpuList: all.slice(1), why: '' };
}

/** CPU seconds each listed CPU has spent busy since boot, summed (/proc/stat, all processes); NaN elsewhere. */
function cpusBusySeconds(cpus: readonly number[]): number {
  try {
    const wanted = new Set(cpus.map((c) => `cpu${c}`));
    let busy = 0;
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (!wanted.has(fields[0]!)) continue;
      const [user, nice, system, , , irq, softirq, steal] = fields.slice(1).map(Number) as number[];
      busy += user! + nice! + system! + irq! + softirq! + steal!;
    }
    return busy / 100;
  } catch {
    return NaN;
  }
}

/** Restricts a running process and all its threads to `cpus` (a taskset list). */
function pin(pid: number, cpus: string): void {
  const result = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${result.stderr}`);
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------------
// (a) The trivial servers, in a process of their own (a node:cluster of one worker per core they
// have): node:http answering 200 "ok" after reading the body; and, as node:http on one core answers
// fewer requests than the tools can send, a bare node:net responder doing the least HTTP/1.1 needs.

const TRIVIAL_SERVER_FLAG = '--capacity-trivial-server';

/** `http`: node:http. `net`: node:net, parsing only what it must (see {@link serveBareHttp}). */
type TrivialKind = 'http' | 'net';

const TRIVIAL_LABEL: Record<TrivialKind, string> = {
  http: 'node:http',
  net: 'bare node:net responder',
};

interface TrivialServerConfig {
  kind: TrivialKind;
  port: number;
  workers: number;
}

const BARE_RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nkeep-alive: timeout=65\r\n\r\nok', 'latin1');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

/**
 * HTTP/1.1 keep-alive with the least work per request: find the end of each request's head, skip
 * its Content-Length body, write a fixed 200 "ok". Requests may arrive pipelined or split across
 * reads. Chunked bodies are not understood: every tool here sends a Content-Length.
 */
function serveBareHttp(port: number, ready: () => void): void {
  createNetServer((socket) => {
    socket.setNoDelay(true);
    let pending: Buffer | null = null;
    let bodyLeft = 0;
    socket.on('data', (chunk: Buffer) => {
      const data: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      let answers = 0;
      for (;;) {
        if (bodyLeft > 0) {
          const take = Math.min(bodyLeft, data.length - at);
          bodyLeft -= take;
          at += take;
          if (bodyLeft > 0) break;
          answers += 1;
          continue;
        }
        const end = data.indexOf('\r\n\r\n', at, 'latin1');
        if (end < 0) break;
        const length = Number(CONTENT_LENGTH.exec(data.toString('latin1', at, end))?.[1] ?? 0);
        at = end + 4;
        if (length === 0) answers += 1;
        else bodyLeft = length;
      }
      pending = at < data.length ? data.subarray(at) : null;
      if (answers === 1) socket.write(BARE_RESPONSE);
      else if (answers > 1) socket.write(Buffer.concat(Array.from({ length: answers }, () => BARE_RESPONSE)));
    });
    socket.on('error', () => socket.destroy());
  }).listen(port, '127.0.0.1', ready);
}

function trivialServerMain(config: TrivialServerConfig): void {
  const announce = (pids: number[]) => process.stdout.write(`${JSON.stringify({ pids })}\n`);
  if (cluster.isPrimary && config.workers > 1) {
    cluster.setupPrimary({ exec: SELF, args: [TRIVIAL_SERVER_FLAG, JSON.stringify(config)] });
    const workers = Array.from({ length: config.workers }, () => cluster.fork());
    let listening = 0;
    for (const worker of workers) worker.once('listening', () => ++listening === workers.length && announce([process.pid, ...workers.map((w) => w.process.pid!)]));
    cluster.on('exit', (worker, code) => {
      process.stderr.write(`trivial server worker ${worker.process.pid} exited with ${code}\n`);
      process.exit(1);
    });
    process.once('SIGTERM', () => {
      cluster.removeAllListeners('exit');
      for (const worker of workers) worker.kill('SIGTERM');
      process.exit(0);
    });
    return;
  }
  const ready = () => cluster.isPrimary && announce([process.pid]);
  process.once('SIGTERM', () => process.exit(0));
  if (config.kind === 'net') return serveBareHttp(config.port, ready);
  const ok = Buffer.from('ok');
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': ok.length });
      res.end(ok);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(config.port, '127.0.0.1', ready);
}

interface TrivialServer {
  kind: TrivialKind;
  url: string;
  pids: number[];
  workers: number;
  stop(): Promise<void>;
}

async function startTrivialServer(kind: TrivialKind, place: Placement): Promise<TrivialServer> {
  const workers = place.serverCpuList.length;
  const config: TrivialServerConfig = { kind, port: await freePort(), workers };
  const command = [process.execPath, SELF, TRIVIAL_SERVER_FLAG, JSON.stringify(config)];
  const child = track(place.pinned ? spawn('taskset', ['-c', place.serverCpus, ...command], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
  const pids = await new Promise<number[]>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the trivial server did not start within 20 s: ${stderr}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { pids: number[] }).pids);
      }
    });
    child.once('exit', (code) => reject(new Error(`the trivial server exited with ${code}: ${stderr}`)));
  });
  return { kind, url: `http://127.0.0.1:${config.port}`, pids, workers, stop: () => stopChild(child) };
}

// ---------------------------------------------------------------------------------------------------
// (a) Node load generators in a child process each (ours and autocannon), pinned to the generator's core.

const CLIENT_FLAG = '--capacity-client';

interface ClientConfig {
  tool: 'ours' | 'ours-probe' | 'autocannon';
  url: string;
  requests: WireRequest[];
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** Ours: the offered rate, and the cap on requests in flight (connections busy plus waiting). */
  rate?: number;
  maxInFlight?: number;
  serverPids: number[];
  generatorCpuList: number[];
  serverCpuList: number[];
}

/** What one run of one tool measured; rates per second, latencies in ms. */
interface ToolRun {
  tool: 'ours' | 'autocannon' | 'wrk';
  /** 2xx answers per second over the measured window. */
  rps: number;
  answered: number;
  seconds: number;
  errors: number;
  errorNote: string;
  p50: number;
  p99: number;
  /** Average cores busy over the measured window: the tool's process, the server's processes, all others. */
  clientCores: number;
  serverCores: number;
  restCores: number;
  /** Share of the time the generator's CPUs and the server's CPUs were busy, with anything (0-1). */
  generatorCpusBusy: number;
  serverCpusBusy: number;
  calibrationMs: number;
  /** Ours only. */
  offeredQps?: number;
  issuedQps?: number;
  overload?: number;
  eventLoopUtilization?: number;
}

interface CpuSample {
  client: number;
  server: number;
  machine: number;
  generatorCpus: number;
  serverCpus: number;
  at: number;
}

const serverCpu = (pids: readonly number[]) => pids.reduce((total, pid) => total + (processCpuSeconds(pid) || 0), 0);

type CpuShares = Pick<ToolRun, 'clientCores' | 'serverCores' | 'restCores' | 'generatorCpusBusy' | 'serverCpusBusy'>;

function cpuBetween(a: CpuSample, b: CpuSample, cpus: { generatorCpuList: number[]; serverCpuList: number[] }): CpuShares {
  const wall = (b.at - a.at) / 1000;
  const clientCores = (b.client - a.client) / wall;
  const serverCores = (b.server - a.server) / wall;
  return {
    clientCores,
    serverCores,
    restCores: Math.max(0, (b.machine - a.machine) / wall - clientCores - serverCores),
    generatorCpusBusy: Math.min(1, (b.generatorCpus - a.generatorCpus) / wall / cpus.generatorCpuList.length),
    serverCpusBusy: Math.min(1, (b.serverCpus - a.serverCpus) / wall / cpus.serverCpuList.length),
  };
}

function cpuSample(client: number, config: { serverPids: number[]; generatorCpuList: number[]; serverCpuList: number[] }): CpuSample {
  return { client, server: serverCpu(config.serverPids), machine: machineBusySeconds(), generatorCpus: cpusBusySeconds(config.generatorCpuList), serverCpus: cpusBusySeconds(config.serverCpuList), at: performance.now() };
}

const selfCpu = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

async function clientMain(config: ClientConfig): Promise<ToolRun | { bestQps: number; probes: Array<{ offered: number; achieved: number }> }> {
  const sample = (): CpuSample => cpuSample(selfCpu(), config);
  const calibrationMs = calibrate();
  if (config.tool === 'autocannon') {
    const { default: autocannon } = await import('autocannon');
    const options = {
      url: config.url,
      requests: config.requests.map((r) => ({ method: r.method, path: r.path, headers: r.headers, body: r.body })),
      connections: config.connections,
      pipelining: 1,
    };
    await autocannon({ ...options, duration: config.warmupMs / 1000 });
    const first = sample();
    const result = await autocannon({ ...options, duration: config.durationMs / 1000 });
    const cpu = cpuBetween(first, sample(), config);
    const errors = result.errors + result.non2xx;
    return {
      tool: 'autocannon',
      rps: result['2xx'] / result.duration,
      answered: result['2xx'],
      seconds: result.duration,
      errors,
      errorNote: errors ? `${result.errors} errors (${result.timeouts} timeouts), ${result.non2xx} non-2xx` : '',
      p50: result.latency.p50,
      p99: result.latency.p99,
      ...cpu,
      calibrationMs,
    };
  }

  const requests = config.requests.map(fromWire);
  const generator = await LoadGenerator.start({ target: config.url, requests, connections: config.connections, maxInFlight: config.maxInFlight ?? config.connections * 4, workers: 0, transport: DEFAULT_TRANSPORT });
  try {
    if (config.tool === 'ours-probe') {
      // Short steps, doubling, until the generator falls behind: the best rate it reached.
      const probes: Array<{ offered: number; achieved: number }> = [];
      for (let rate = 10_000; rate <= 640_000; rate *= 2) {
        const m = await generator.run({ rate, warmupMs: 300, durationMs: 1200 });
        probes.push({ offered: rate, achieved: m.achievedQps });
        if (m.achievedQps < rate * 0.9) break;
      }
      return { bestQps: Math.max(...probes.map((p) => p.achieved)), probes };
    }
    const rate = config.rate!;
    let first: CpuSample | null = null;
    let last: CpuSample | null = null;
    // The generator's window starts 5 ms after run() (its scheduling lead); CPU is read at the window's edges.
    const timers = [setTimeout(() => (first = sample()), config.warmupMs + 5), setTimeout(() => (last = sample()), config.warmupMs + config.durationMs + 5)];
    const m = await generator.run({ rate, warmupMs: config.warmupMs, durationMs: config.durationMs });
    for (const timer of timers) clearTimeout(timer);
    const cpu = cpuBetween(first ?? sample(), last ?? sample(), config);
    const targetErrors = m.errors - m.errorsByClass.overload;
    return {
      tool: 'ours',
      rps: m.achievedQps,
      answered: Math.round(m.achievedQps * (config.durationMs / 1000)),
      seconds: config.durationMs / 1000,
      errors: targetErrors,
      errorNote: targetErrors ? `${Object.entries(m.errorsByClass).filter(([k, v]) => v && k !== 'overload').map(([k, v]) => `${v} ${k}`).join(', ')} (${m.errorSamples[0] ?? ''})` : '',
      p50: m.latency.p50,
      p99: m.latency.p99,
      ...cpu,
      calibrationMs,
      offeredQps: m.offeredQps,
      issuedQps: m.issuedQps,
      overload: m.errorsByClass.overload,
      eventLoopUtilization: m.generator.eventLoopUtilization,
    };
  } finally {
    await generator.close();
  }
}

function runClient<T>(config: ClientConfig, place: Placement | null): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = track(fork(SELF, [CLIENT_FLAG], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    if (place?.pinned) pin(child.pid!, place.generatorCpus);
    let answered = false;
    child.once('message', (message) => {
      answered = true;
      const m = message as { result?: T; error?: string };
      if (m.error) reject(new Error(`${config.tool} client: ${m.error}`));
      else resolve(m.result!);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (!answered) reject(new Error(`${config.tool} client exited with ${code} before reporting`));
    });
    child.send(config);
  });
}

// ---------------------------------------------------------------------------------------------------
// (a) wrk: one thread on the generator's core, a Lua script for the POST body.

function wrkVersion(): string | null {
  const result = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (result.error) return null;
  return /wrk\s+(\S+)/.exec(`${result.stdout}${result.stderr}`)?.[1] ?? 'unknown';
}

function wrkScript(request: WireRequest, file: string): void {
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`)
    .join('\n');
  writeFileSync(
    file,
    `wrk.method = ${JSON.stringify(request.method)}
wrk.body = [==[${request.body}]==]
${headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
`,
  );
}

interface WrkSummary {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
}

/** `wantedSeconds` is rounded up: wrk takes whole seconds. */
async function runWrk(url: string, script: string, connections: number, wantedSeconds: number, place: Placement, serverPids: number[]): Promise<{ summary: WrkSummary; cpu: CpuShares }> {
  const seconds = Math.max(1, Math.ceil(wantedSeconds));
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '2s', '-s', script, url];
  const child = track(place.pinned ? spawn('taskset', ['-c', place.generatorCpus, 'wrk', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const pid = child.pid!;
  // taskset execs wrk in the same process; its CPU is read just before the run ends, while /proc still has it.
  const where = { serverPids, generatorCpuList: place.generatorCpuList, serverCpuList: place.serverCpuList };
  const first = cpuSample(0, where);
  let last: CpuSample | null = null;
  const timer = setTimeout(() => (last = cpuSample(processCpuSeconds(pid), where)), seconds * 1000 - 100);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
  if (code !== 0 || !line) throw new Error(`wrk ${args.join(' ')} exited with ${code}:\n${stdout}\n${stderr}`);
  return { summary: JSON.parse(line) as WrkSummary, cpu: cpuBetween(first, last ?? first, where) };
}

// ---------------------------------------------------------------------------------------------------
// (a) The comparison.

interface ServerRuns {
  kind: TrivialKind;
  probe: { bestQps: number; probes: Array<{ offered: number; achieved: number }> };
  /** The rate our generator was offered. */
  offeredQps: number;
  runs: ToolRun[];
}

interface ThroughputResults {
  place: Placement;
  serverWorkers: number;
  requestBytes: number;
  servers: ServerRuns[];
  wrk: string | null;
  skipped: string[];
}

const describeRun = (r: ToolRun) =>
  `${Math.round(r.rps)} req/s, p99 ${r.p99.toFixed(1)} ms, ${r.errors} errors; cores: tool ${r.clientCores.toFixed(2)}, server ${r.serverCores.toFixed(2)}, rest ${r.restCores.toFixed(2)}; ` +
  `busy: generator CPU ${Math.round(r.generatorCpusBusy * 100)}%, server CPU ${Math.round(r.serverCpusBusy * 100)}%; calibration ${r.calibrationMs.toFixed(0)} ms`;

async function runWrkRound(server: TrivialServer, wire: WireRequest, script: string, plan: Plan, place: Placement): Promise<ToolRun> {
  const { connections, warmupMs, durationMs } = plan.throughput;
  const calibrationMs = calibrate();
  await runWrk(`${server.url}${wire.path}`, script, connections, warmupMs / 1000, place, server.pids);
  const { summary: s, cpu } = await runWrk(`${server.url}${wire.path}`, script, connections, durationMs / 1000, place, server.pids);
  const seconds = s.durationUs / 1e6;
  const errors = s.connect + s.read + s.write + s.status + s.timeout;
  return {
    tool: 'wrk',
    rps: (s.requests - s.status) / seconds,
    answered: s.requests - s.status,
    seconds,
    errors,
    errorNote: errors ? `connect ${s.connect}, read ${s.read}, write ${s.write}, status ${s.status}, timeout ${s.timeout}` : '',
    p50: s.p50Us / 1000,
    p99: s.p99Us / 1000,
    ...cpu,
    calibrationMs,
  };
}

async function benchThroughput(plan: Plan, workDir: string): Promise<ThroughputResults> {
  const { connections, warmupMs, durationMs, overOffer } = plan.throughput;
  const place = placement(machine().cores);
  const request = parseRecordingOrThrow(SMALL_LINE, 'small.ndjson')[0]!;
  const wire = toWire(request);
  const wrk = wrkVersion();
  const skipped: string[] = [];
  if (!wrk) skipped.push('wrk is not installed (Debian: apt-get install wrk), so its rows are missing');
  const script = join(workDir, 'post.lua');
  wrkScript(wire, script);
  const servers: ServerRuns[] = [];
  for (const { kind, rounds } of plan.throughput.servers) {
    const server = await startTrivialServer(kind, place);
    try {
      log(`(a) ${TRIVIAL_LABEL[kind]} server ${server.url} (pids ${server.pids.join(', ')})${place.pinned ? `, on CPU ${place.serverCpus}; generators on CPU ${place.generatorCpus}` : `; ${place.why}`}`);
      const base = { url: server.url, requests: [wire], connections, serverPids: server.pids, generatorCpuList: place.generatorCpuList, serverCpuList: place.serverCpuList };
      const probe = await runClient<ServerRuns['probe']>({ ...base, tool: 'ours-probe', warmupMs: 0, durationMs: 0 }, place);
      const rate = Math.round((probe.bestQps * overOffer) / 1000) * 1000;
      log(`(a) our generator's probes: ${probe.probes.map((p) => `${p.offered} -> ${Math.round(p.achieved)}`).join(', ')}; offering ${rate} req/s`);
      const runs: ToolRun[] = [];
      for (let round = 1; round <= rounds; round++) {
        const ours = await runClient<ToolRun>({ ...base, tool: 'ours', warmupMs, durationMs, rate }, place);
        runs.push(ours);
        log(`(a) round ${round}: ours ${describeRun(ours)}; offered ${rate}, ${ours.overload} dropped, event loop ${Math.round((ours.eventLoopUtilization ?? 0) * 100)}% busy`);
        const cannon = await runClient<ToolRun>({ ...base, tool: 'autocannon', warmupMs, durationMs }, place);
        runs.push(cannon);
        log(`(a) round ${round}: autocannon ${describeRun(cannon)}`);
        if (wrk) {
          const run = await runWrkRound(server, wire, script, plan, place);
          runs.push(run);
          log(`(a) round ${round}: wrk ${describeRun(run)}`);
        }
      }
      servers.push({ kind, probe, offeredQps: rate, runs });
    } finally {
      await server.stop();
    }
  }
  return { place, serverWorkers: place.serverCpuList.length, requestBytes: request.body?.length ?? 0, servers, wrk, skipped };
}

// ---------------------------------------------------------------------------------------------------
// (b) Targets: the known-capacity server in a child process, the model server through the CLI.

const KNOWN_SERVER_FLAG = '--capacity-known-server';

function knownServerMain(): void {
  process.once('message', (config) => {
    void startKnownCapacityServer(config as KnownTarget).then((server) => {
      process.send!({ url: server.url, capacityQps: server.capacityQps });
      process.on('message', (message) => {
        if (message === 'stats') process.send!({ stats: server.stats() });
        if (message === 'close') void server.close().then(() => process.exit(0));
      });
    });
  });
}

interface Target {
  name: string;
  url: string;
  pid: number;
  stats?: () => Promise<KnownCapacityStats>;
  stop(): Promise<void>;
}

async function startKnownServer(config: KnownTarget): Promise<Target & { capacityQps: number }> {
  const child = track(fork(SELF, [KNOWN_SERVER_FLAG], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const ready = await new Promise<{ url: string; capacityQps: number }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; capacityQps: number }));
    child.once('exit', (code) => reject(new Error(`the known-capacity server exited with ${code}`)));
    child.send({ slots: config.slots, serviceTimeMs: config.serviceTimeMs });
  });
  return {
    name: `known-capacity server, ${config.slots} slots x ${config.serviceTimeMs} ms`,
    url: ready.url,
    capacityQps: ready.capacityQps,
    pid: child.pid!,
    stats: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve((m as { stats: KnownCapacityStats }).stats));
        child.send('stats');
      }),
    stop: async () => {
      child.send('close');
      await stopChild(child);
    },
  };
}

/** `modelfleet model-server` (the real binary) on a free port, one worker; ready when /healthz answers. */
async function startModelServerProcess(): Promise<Target> {
  const port = await freePort();
  const child = track(spawn(process.execPath, [CLI, 'model-server', '--model', MODEL_ID, '--size', 'medium', '--workers', '1', '--port', String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  const keep = (c: Buffer) => (output = (output + c.toString('utf8')).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`modelfleet model-server exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`modelfleet model-server did not answer /healthz within 60 s:\n${output}`);
    await sleep(100);
  }
  return { name: `model server (${MODEL_ID}, medium, 1 worker)`, url, pid: child.pid!, stop: () => stopChild(child) };
}

// ---------------------------------------------------------------------------------------------------
// (b) The two searches.

interface SearchStep {
  phase: string;
  offeredQps: number;
  achievedQps: number;
  p99: number;
  pass: boolean;
  why: string | null;
}

interface SearchRun {
  method: 'estimate' | 'naive';
  answerQps: number | null;
  verdict: string;
  converged: boolean;
  seconds: number;
  steps: SearchStep[];
  calibrationMs: number;
  cpu: { bench: number; server: number; rest: number };
}

function measureCpu(serverPid: number): () => SearchRun['cpu'] {
  const a = { bench: selfCpu(), server: processCpuSeconds(serverPid), machine: machineBusySeconds(), at: performance.now() };
  return () => {
    const wall = (performance.now() - a.at) / 1000;
    const bench = (selfCpu() - a.bench) / wall;
    const server = (processCpuSeconds(serverPid) - a.server) / wall;
    return { bench, server, rest: Math.max(0, (machineBusySeconds() - a.machine) / wall - bench - server) };
  };
}

async function runEstimate(target: Target, requests: ReplayRequest[], stoppers: Stoppers, plan: Plan): Promise<SearchRun> {
  const calibrationMs = calibrate();
  const cpu = measureCpu(target.pid);
  const estimate: CapacityEstimate = await estimateCapacity({
    target: target.url,
    requests,
    stoppers,
    search: { tolerance: plan.search.tolerance },
    stepDurationMs: plan.search.stepDurationMs,
    warmupMs: plan.search.warmupMs,
    workers: 'auto',
    onProgress: (event) => {
      if (event.type === 'result') log(`    ${event.step.phase} ${event.step.offeredQps} QPS: ${event.step.pass ? 'held' : `breached ${event.step.stopper ?? event.step.generatorLimit ?? event.step.targetDown}`} (achieved ${Math.round(event.step.achievedQps)}, p99 ${event.step.p99.toFixed(1)} ms)`);
      if (event.type === 'workers') log(`    workers ${event.from} -> ${event.to}: ${event.reason}`);
    },
  });
  return {
    method: 'estimate',
    answerQps: estimate.maxQps,
    verdict: estimate.verdict,
    converged: estimate.converged,
    seconds: estimate.durationMs / 1000,
    steps: estimate.steps.map((s) => ({ phase: s.phase, offeredQps: s.offeredQps, achievedQps: s.achievedQps, p99: s.p99, pass: s.pass, why: s.pass ? null : (s.stopper ?? (s.generatorLimit ? 'generator' : s.targetDown ? 'down' : null)) })),
    calibrationMs,
    cpu: cpu(),
  };
}

/**
 * The naive way: the same generator, stoppers, step length and warm-up, the rate raised by a fixed
 * increment until a step breaches a stopper; the answer is the last rate that held.
 */
async function runNaiveRamp(target: Target, requests: ReplayRequest[], stoppers: Stoppers, plan: Plan): Promise<SearchRun> {
  const calibrationMs = calibrate();
  const cpu = measureCpu(target.pid);
  const started = performance.now();
  const { naiveStepQps, naiveBudgetMs, stepDurationMs, warmupMs } = plan.search;
  const generator = await LoadGenerator.start({ target: target.url, requests, timeoutMs: Math.max(2000, stoppers.p99Ms * 10), workers: 0 });
  const steps: SearchStep[] = [];
  let good: number | null = null;
  let verdict = 'breached';
  try {
    for (let rate = naiveStepQps; ; rate += naiveStepQps) {
      if (performance.now() - started + warmupMs + stepDurationMs > naiveBudgetMs) {
        verdict = 'out_of_time';
        break;
      }
      const m = await generator.run({ rate, warmupMs, durationMs: stepDurationMs });
      const judged = judgeStep(m, stoppers);
      const pass = judged.pass && !judged.generatorLimit && !judged.targetDown;
      steps.push({ phase: 'ramp', offeredQps: rate, achievedQps: m.achievedQps, p99: m.latency.p99, pass, why: pass ? null : (judged.stopper ?? (judged.generatorLimit ? 'generator' : 'down')) });
      log(`    naive ${rate} QPS: ${pass ? 'held' : `breached ${steps.at(-1)!.why}`} (achieved ${Math.round(m.achievedQps)}, p99 ${m.latency.p99.toFixed(1)} ms)`);
      if (judged.generatorLimit) verdict = 'generator_bound';
      if (!pass) break;
      good = rate;
    }
  } finally {
    await generator.close();
  }
  return { method: 'naive', answerQps: good, verdict, converged: verdict === 'breached' && good !== null, seconds: (performance.now() - started) / 1000, steps, calibrationMs, cpu: cpu() };
}

/** One closed-loop saturation run of the model server. */
interface SaturationRun {
  rps: number;
  p99: number;
  errors: number;
  serverCores: number;
  restCores: number;
}

/** One long fixed-rate run of the stable-rate yardstick. */
export interface YardstickRun {
  offeredQps: number;
  /** The offered rate over the saturated throughput the grid was built on. */
  share: number;
  achievedQps: number;
  p99: number;
  errorRate: number;
  pass: boolean;
  /** Why it did not hold: the first stopper breached, `generator` or `down`. */
  why: string | null;
}

/** What {@link modelStableRate} found. */
export interface StableRate {
  /** The closed-loop saturated throughput the grid was built on. */
  saturationQps: number;
  /** The highest grid rate that held in every run; null: even the lowest failed. */
  stableQps: number | null;
  /** The lowest grid rate that failed; null: the top of the grid held, so the stable rate may be higher. */
  failedQps: number | null;
  /** Every run, in order. */
  runs: YardstickRun[];
  seconds: number;
}

/** A search run, with the truth it is judged against, and for the model server its saturated throughput as context. */
type JudgedRun = SearchRun & {
  /** Known-capacity server: slots / service time. Model server: the mean of the stable rates found before and after the searches; null if neither found one. */
  truthQps: number | null;
  /** Model server only: the mean of the saturation runs just before and after this search, and those runs. */
  saturation: { qps: number; runs: SaturationRun[] } | null;
};

interface SearchResults {
  targets: Array<{
    name: string;
    p99Ms: number;
    runs: JudgedRun[];
    stats?: KnownCapacityStats;
    /** Model server only: the two stable-rate yardsticks (before the first search, after the last run) and every saturation run, in order. */
    model?: { yardsticks: StableRate[]; saturationRuns: SaturationRun[] };
  }>;
  modelRequests: number;
  modelCandidates: number;
}

const stoppersOf = (p99Ms: number): Stoppers => ({ p99Ms, maxErrorRate: MAX_ERROR_RATE });
const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

async function search(method: SearchRun['method'], target: Target, requests: ReplayRequest[], stoppers: Stoppers, plan: Plan): Promise<SearchRun> {
  log(`(b) ${target.name}: ${method === 'estimate' ? 'capacity search' : `naive ramp, +${plan.search.naiveStepQps} QPS per step`} (p99 <= ${stoppers.p99Ms} ms, errors <= ${stoppers.maxErrorRate})`);
  const run = method === 'estimate' ? await runEstimate(target, requests, stoppers, plan) : await runNaiveRamp(target, requests, stoppers, plan);
  log(`(b) ${target.name}: ${method} ${run.answerQps} QPS (${run.verdict}) in ${run.seconds.toFixed(1)} s, ${run.steps.length} steps; CPU bench ${run.cpu.bench.toFixed(2)}, server ${run.cpu.server.toFixed(2)}, rest ${run.cpu.rest.toFixed(2)}`);
  // A queue a failed step left behind drains before anything else measures the target.
  await sleep(1000);
  return run;
}

/**
 * The model server's throughput under closed-loop autocannon connections: how many requests it can
 * answer, an upper bound on its stable rate (a closed loop never lets its queue grow past the connections).
 */
async function modelSaturation(target: Target, requests: ReplayRequest[], plan: Plan): Promise<SaturationRun> {
  const run = await runClient<ToolRun>(
    {
      tool: 'autocannon',
      url: target.url,
      requests: requests.map(toWire),
      connections: plan.model.truthConnections,
      warmupMs: plan.model.truthWarmupMs,
      durationMs: plan.model.truthDurationMs,
      serverPids: [target.pid],
      generatorCpuList: [],
      serverCpuList: [],
    },
    null,
  );
  log(`(b) model server saturated by autocannon (${plan.model.truthConnections} connections, closed loop): ${Math.round(run.rps)} req/s, p99 ${run.p99} ms, server ${run.serverCores.toFixed(2)} cores, rest ${run.restCores.toFixed(2)}`);
  await sleep(1000);
  return { rps: run.rps, p99: run.p99, errors: run.errors, serverCores: run.serverCores, restCores: run.restCores };
}

/**
 * The model server's stable rate, measured apart from the search but by its definition: the highest
 * constant arrival rate whose p99 (from the scheduled send) and error rate hold `stoppers`, in long
 * runs. The same generator as the search (one thread, the `raw` transport, the search's default
 * timeout) offers rates on a grid from `lowShare` to `highShare` of `saturationQps`, `gridShare`
 * apart, bisected: the middle first, then up where a rate held and down where it failed. A rate holds
 * when all of its `holds` runs pass; a run the generator itself limited says nothing about the server
 * and is run again once. Takes at most ceil(log2(grid rates + 1)) x holds runs, plus those reruns (five rates
 * of two runs on the default grid).
 */
export async function modelStableRate(url: string, requests: readonly ReplayRequest[], stoppers: Stoppers, saturationQps: number, plan: YardstickPlan): Promise<StableRate> {
  const started = performance.now();
  const points = Math.round((plan.highShare - plan.lowShare) / plan.gridShare) + 1;
  const shareAt = (i: number) => plan.lowShare + i * plan.gridShare;
  const rateAt = (i: number) => Math.round(saturationQps * shareAt(i));
  const runs: YardstickRun[] = [];
  const generator = await LoadGenerator.start({ target: url, requests, timeoutMs: Math.max(2000, stoppers.p99Ms * 10), workers: 0, transport: DEFAULT_TRANSPORT });
  const runOnce = async (i: number): Promise<YardstickRun> => {
    const m = await generator.run({ rate: rateAt(i), warmupMs: plan.warmupMs, durationMs: plan.durationMs });
    const judged = judgeStep(m, stoppers);
    const pass = judged.pass && !judged.generatorLimit && !judged.targetDown;
    const run: YardstickRun = {
      offeredQps: rateAt(i),
      share: shareAt(i),
      achievedQps: m.achievedQps,
      p99: m.latency.p99,
      errorRate: m.errorRate,
      pass,
      why: pass ? null : judged.generatorLimit ? 'generator' : judged.targetDown ? 'down' : judged.stopper,
    };
    runs.push(run);
    log(`    yardstick ${run.offeredQps} QPS (${Math.round(run.share * 100)}% of ${Math.round(saturationQps)}): ${pass ? 'held' : `breached ${run.why}`} (achieved ${Math.round(m.achievedQps)}, p99 ${m.latency.p99.toFixed(1)} ms, errors ${(m.errorRate * 100).toFixed(2)}%)`);
    return run;
  };
  const holds = async (i: number): Promise<boolean> => {
    for (let n = 0; n < plan.holds; n++) {
      let run = await runOnce(i);
      if (run.why === 'generator') run = await runOnce(i);
      if (!run.pass) {
        await sleep(plan.cooldownMs);
        return false;
      }
    }
    return true;
  };
  // Grid indices: `held` holds (-1: none yet), `failed` fails (`points`: none yet, as if just above the grid).
  let held = -1;
  let failed = points;
  try {
    while (failed - held > 1) {
      const i = Math.floor((held + failed) / 2);
      if (await holds(i)) held = i;
      else failed = i;
    }
  } finally {
    await generator.close();
  }
  await sleep(1000);
  return { saturationQps, stableQps: held >= 0 ? rateAt(held) : null, failedQps: failed < points ? rateAt(failed) : null, runs, seconds: (performance.now() - started) / 1000 };
}

async function yardstick(target: Target, requests: ReplayRequest[], stoppers: Stoppers, saturationQps: number, plan: Plan): Promise<StableRate> {
  const y = plan.model.yardstick;
  log(`(b) ${target.name}: stable-rate yardstick, ${y.holds} x ${y.durationMs / 1000} s runs per rate, ${y.lowShare * 100}-${y.highShare * 100}% of ${Math.round(saturationQps)} req/s in steps of ${y.gridShare * 100}%`);
  const found = await modelStableRate(target.url, requests, stoppers, saturationQps, y);
  log(`(b) ${target.name}: stable rate ${found.stableQps ?? 'none'} QPS (lowest failed: ${found.failedQps ?? 'none'}) in ${found.seconds.toFixed(1)} s, ${found.runs.length} runs`);
  return found;
}

async function benchSearch(plan: Plan): Promise<SearchResults> {
  const results: SearchResults = { targets: [], modelRequests: plan.model.requests, modelCandidates: plan.model.candidates };
  const small = parseRecordingOrThrow(SMALL_LINE, 'small.ndjson');
  for (const config of plan.known) {
    const server = await startKnownServer(config);
    try {
      const runs: JudgedRun[] = [];
      for (const method of ['estimate', 'naive'] as const) runs.push({ ...(await search(method, server, small, stoppersOf(config.p99Ms), plan)), truthQps: server.capacityQps, saturation: null });
      results.targets.push({ name: server.name, p99Ms: config.p99Ms, runs, stats: await server.stats!() });
    } finally {
      await server.stop();
    }
  }

  // The shared machine's speed drifts from minute to minute, and the model server's capacity with it:
  // the stable-rate yardstick runs before the first search and after the last run, and every search is
  // judged against the mean of the two; each search is also shown against the saturation runs just
  // before and after it.
  const requests = parseRecordingOrThrow(modelRecording(plan.model.requests, plan.model.candidates), 'model.ndjson');
  const stoppers = stoppersOf(plan.model.p99Ms);
  const server = await startModelServerProcess();
  try {
    const saturations = [await modelSaturation(server, requests, plan)];
    const yardsticks = [await yardstick(server, requests, stoppers, saturations[0]!.rps, plan)];
    const searched: Array<SearchRun & { saturationRuns: SaturationRun[] }> = [];
    const methods = [...Array.from({ length: plan.model.searches }, () => 'estimate' as const), 'naive' as const];
    for (const method of methods) {
      const run = await search(method, server, requests, stoppers, plan);
      saturations.push(await modelSaturation(server, requests, plan));
      searched.push({ ...run, saturationRuns: saturations.slice(-2) });
    }
    yardsticks.push(await yardstick(server, requests, stoppers, saturations.at(-1)!.rps, plan));
    const stable = yardsticks.flatMap((y) => (y.stableQps === null ? [] : [y.stableQps]));
    const truthQps = stable.length ? mean(stable) : null;
    const runs: JudgedRun[] = searched.map(({ saturationRuns, ...run }) => ({ ...run, truthQps, saturation: { qps: mean(saturationRuns.map((t) => t.rps)), runs: saturationRuns } }));
    results.targets.push({ name: server.name, p99Ms: plan.model.p99Ms, runs, model: { yardsticks, saturationRuns: saturations } });
  } finally {
    await server.stop();
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------
// Report

/** Rates as read: 56.8 k, 4800, 187.5. */
const k = (rate: number) => (rate >= 10_000 ? `${(rate / 1000).toFixed(1)} k` : rate >= 1000 ? `${Math.round(rate)}` : `${Number(rate.toFixed(1))}`);
const signedPercent = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
const best = (runs: ToolRun[], tool: ToolRun['tool']) => runs.filter((r) => r.tool === tool).sort((a, b) => b.rps - a.rps)[0];

function autocannonVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function undiciVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules/undici/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The relative error of an answer against a truth; null when either is missing. */
const errorAgainst = (answer: number | null, truth: number | null) => (answer === null || truth === null ? null : (answer - truth) / truth);
const signedOrDash = (x: number | null) => (x === null ? '-' : signedPercent(x));

/** Yardstick runs grouped by rate, in order: "254 (70%) p99 12.3, 14.1 ✓". */
function yardstickRates(runs: readonly YardstickRun[]): string {
  const groups: YardstickRun[][] = [];
  for (const run of runs) {
    const last = groups.at(-1);
    if (last && last[0]!.offeredQps === run.offeredQps) last.push(run);
    else groups.push([run]);
  }
  return groups
    .map((group) => {
      const p99s = group.map((r) => `${r.p99.toFixed(1)}${r.errorRate > 0 ? ` (${(r.errorRate * 100).toFixed(2)}% errors)` : ''}${r.why === 'generator' ? ' (generator-limited)' : ''}`).join(', ');
      // A rate's runs stop at its first failure (a generator-limited run is repeated once), so the last run decides.
      const last = group.at(-1)!;
      return `${k(group[0]!.offeredQps)} (${Math.round(group[0]!.share * 100)}%) p99 ${p99s} ${last.pass ? '✓' : `✗ ${last.why}`}`;
    })
    .join('; ');
}

/** A run whose server CPUs were this busy (with anything) had no CPU to spare: the rate there is the server's limit. */
const SATURATED = 0.95;

function report(plan: Plan, quick: boolean, load: number[], throughput: ThroughputResults | null, searches: SearchResults | null, skipped: string[]): { markdown: string; problems: string[] } {
  const problems: string[] = [...skipped];
  const m = machine();
  const lines: string[] = [];
  lines.push('## Capacity: load generator and capacity search (`bench/capacity.ts`)');
  lines.push('');
  lines.push(`- Run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`npm run bench -- --only=capacity${quick ? ' --quick' : ''}\``);
  lines.push(`- Machine: ${machineLine(m)}; autocannon ${autocannonVersion()}, wrk ${throughput?.wrk ?? 'not installed'}, undici ${undiciVersion()} (our generator's client for https only; http targets use its own \`${DEFAULT_TRANSPORT}\` transport)`);
  lines.push(
    `- Load average (1 min) before (a) and before (b): ${load.map((l) => l.toFixed(2)).join(', ')}. The machine is shared with other work; the CPU columns say how much of it ran during each row ("rest": cores busy outside the benchmark's processes).`,
  );
  lines.push('- Calibration: the registry benchmark\'s fixed CPU task (30,000 JSON round trips), timed before each row; it takes longer when the machine is busy.');
  lines.push('');

  if (!throughput) {
    lines.push('### (a) Requests per second from one core');
    lines.push('');
    lines.push(`Not measured in this run: ${skipped.find((x) => x.startsWith('(a)')) ?? 'see the log'}.`);
    lines.push('');
  }
  if (throughput) {
    const t = plan.throughput;
    const place = throughput.place;
    const cores = place.serverCpuList.length;
    lines.push('### (a) Requests per second from one core');
    lines.push('');
    lines.push(
      `Every tool sends the same request, \`POST /predict\` with a ${throughput.requestBytes}-byte JSON body (a recording line: one user, two candidates), over ${t.connections} keep-alive connections, ` +
        `${t.warmupMs / 1000} s of warm-up then ${t.durationMs / 1000} s measured, the tools taking turns (every run listed; the best of each tool against each server in bold). ` +
        (place.pinned
          ? `Each tool runs in its own process pinned to CPU ${place.generatorCpus} (\`taskset\`, all threads); the server is pinned to CPU ${place.serverCpus}. `
          : `Nothing is pinned (${place.why}). `) +
        'Two trivial servers, one after the other: **node:http** answering `200 ok` after reading the body; and, because node:http on one core answers fewer requests than the tools send, ' +
        "a **bare node:net responder** that finds the end of each request's head, skips its Content-Length body and writes a fixed `200 ok` (a fraction of node:http's work per request). " +
        `Each runs in a process of its own, ${throughput.serverWorkers === 1 ? 'one process for its one core (a node:cluster of more workers on one core would only add context switches)' : `a node:cluster of ${throughput.serverWorkers} workers, one per core it has`}. ` +
        'The targets are judged against the bare responder, where the server is furthest from being the limit.',
    );
    lines.push('');
    lines.push(
      `- **modelfleet** \`LoadGenerator\`, one thread (\`workers: 0\`), \`transport: '${DEFAULT_TRANSPORT}'\` (prebuilt request bytes on keep-alive \`node:net\` sockets, see rawHttpDispatcher.ts), ${t.connections} connections, up to ${t.connections * 4} requests in flight (the rest wait for a connection inside the generator). ` +
        `It is open loop only (no "as fast as possible" mode), so it is offered ${t.overOffer}x the best rate its own short probes reached (doubling from 10 k until it fell behind), and its row is the rate it achieved: 2xx answers inside the window. ` +
        'A request due while the in-flight cap is reached is dropped (counted as `overload`), not sent late.',
    );
    lines.push(`- **autocannon** ${autocannonVersion()}, programmatic API in a child process, no \`workers\` (its own thread), ${t.connections} connections, pipelining 1, closed loop: 2xx answers / duration. It reports latencies in whole milliseconds.`);
    lines.push(`- **wrk** \`-t1 -c${t.connections} --timeout 2s\` with a Lua script setting method, body and content type; closed loop: (requests - non-2xx) / duration. Its warm-up is a separate ${Math.ceil(t.warmupMs / 1000)} s run (wrk takes whole seconds).`);
    lines.push('');
    const saturated = (r: ToolRun) => r.serverCpusBusy >= SATURATED;
    const perCore = (r: ToolRun) => r.rps / Math.max(r.clientCores, 1e-9);
    const rows = throughput.servers.flatMap((server) =>
      (['ours', 'autocannon', 'wrk'] as const).flatMap((tool) => {
        const top = best(server.runs, tool);
        return server.runs
          .filter((r) => r.tool === tool)
          .map((r) => [
            TRIVIAL_LABEL[server.kind],
            tool === 'ours' ? 'modelfleet `LoadGenerator`' : tool,
            r === top ? `**${k(r.rps)}**` : k(r.rps),
            k(perCore(r)),
            `${r.p50.toFixed(2)} / ${r.p99.toFixed(2)}`,
            r.errors ? `${r.errors}: ${r.errorNote}` : '0',
            `${r.clientCores.toFixed(2)} / ${r.serverCores.toFixed(2)} / ${r.restCores.toFixed(2)}`,
            `${Math.round(r.generatorCpusBusy * 100)}% / ${Math.round(r.serverCpusBusy * 100)}%${saturated(r) ? ' (server side full)' : ''}`,
            tool === 'ours' ? `offered ${k(r.offeredQps!)}, ${r.overload!.toLocaleString('en-US')} dropped at the cap; event loop ${Math.round((r.eventLoopUtilization ?? 0) * 100)}% busy` : '',
            r.calibrationMs.toFixed(0),
          ]);
      }),
    );
    lines.push(table(['server', 'generator', 'req/s', 'req/s per generator core', 'latency p50 / p99 ms', 'errors', 'CPU cores: generator / server / rest', `busy: generator's CPU / server's CPU${cores > 1 ? 's' : ''}`, 'notes', 'calibration ms'], rows));
    lines.push('');
    for (const server of throughput.servers) {
      lines.push(`Our generator's probes against ${TRIVIAL_LABEL[server.kind]} (offered -> achieved req/s): ${server.probe.probes.map((p) => `${k(p.offered)} -> ${k(p.achieved)}`).join(', ')}; offered ${k(server.offeredQps)} in its runs.`);
      lines.push('');
    }
    const all = throughput.servers.flatMap((server) => server.runs.map((r) => ({ server: server.kind, r })));
    const full = all.filter(({ r }) => saturated(r));
    lines.push(
      '"req/s per generator core" is the rate over the CPU the generator process used: roughly what it would send from a whole core if nothing else were the limit. ' +
        `"busy" is how much of the time the generator's CPU and the server's CPU${cores > 1 ? 's' : ''} were busy with anything, other work included: ` +
        (full.length
          ? `where the server's side was full (at least ${SATURATED * 100}% busy: ${full.map(({ server, r }) => `${r.tool} on ${TRIVIAL_LABEL[server]}`).filter((x, i, xs) => xs.indexOf(x) === i).join(', ')}), the rate is what the server could answer and the tool could have sent more. `
          : `the server's side was never full (below ${SATURATED * 100}% busy in every run), so the rates are the tools' own. `) +
        'A generator below one core while the server side is not full is waiting (on its timers or on answers), not short of CPU. ' +
        "Latencies are not comparable across tools here: ours are timed from each request's scheduled send, so they include the wait for one of the connections behind the requests in flight; the closed-loop tools time from the write.",
    );
    lines.push('');
  }

  if (searches) {
    lines.push('### (b) Capacity search: accuracy and time');
    lines.push('');
    lines.push(
      `\`estimateCapacity\` with the search's defaults (start at 10 QPS, double until a stopper breaks, bisect, two confirmation runs of twice the step) but for the tolerance: it bisects until the good and bad rates are within ${plan.search.tolerance * 100}% ` +
        `(default 5%, which alone would spend the whole accuracy target, as the answer is the good rate). ${plan.search.stepDurationMs / 1000} s steps after ${plan.search.warmupMs / 1000} s of warm-up ` +
        `(the defaults are 5 s and 1 s, which take about twice as long), 1 s cool-down after a failed step, worker threads \`auto\`; it runs in the benchmark process, the target in its own. ` +
        `Stoppers: p99 as listed (from the scheduled send time) and error rate ${MAX_ERROR_RATE}. ` +
        `Next to it, a naive ramp: the same generator, stoppers, step length and warm-up, +${plan.search.naiveStepQps} QPS per step from ${plan.search.naiveStepQps} until a step breaches a stopper, answering the last rate that held (given up after ${plan.search.naiveBudgetMs / 1000} s). ` +
        'Wall time runs from the start of the search to its answer, generator start and the probe request included.',
    );
    lines.push('');
    lines.push('- Known-capacity server (`startKnownCapacityServer`): `slots` requests served at once for `serviceTimeMs` each, the rest queued; its capacity is slots / service time exactly. Traffic: the request of part (a).');
    const y = plan.model.yardstick;
    const gridRates = Math.round((y.highShare - y.lowShare) / y.gridShare) + 1;
    lines.push(
      `- Model server: \`modelfleet model-server --model ${MODEL_ID} --size medium --workers 1\`; traffic: a recording of ${searches.modelRequests} predict requests of ${searches.modelCandidates} candidates each (features from a fixed seed), replayed cyclically. ` +
        `The capacity search runs ${plan.model.searches === 1 ? 'once' : `${plan.model.searches} times in a row`} on it, then the naive ramp once; the target counts as met when most searches meet it. ` +
        'Its capacity is not known beforehand, so it is measured apart from the searches, two ways:',
    );
    lines.push(
      `  - **Stable-rate truth (long open-loop runs)**, the one the target is judged against: the highest constant arrival rate whose p99 (from the scheduled send) and error rate stayed within the searches' stoppers in runs of ${y.durationMs / 1000} s measured after ${y.warmupMs / 1000} s of warm-up. ` +
        `It is the quantity the search is defined to find, measured with longer runs and every rate ${y.holds === 2 ? 'twice' : `${y.holds} times`}. ` +
        `The same generator as the search's (one thread, \`${DEFAULT_TRANSPORT}\` transport) offers rates on a grid from ${y.lowShare * 100}% to ${y.highShare * 100}% of the saturated throughput measured just before, ${y.gridShare * 100}% of it apart, ` +
        `bisected (the middle first, then up where a rate held and down where it failed: at most ${Math.ceil(Math.log2(gridRates + 1))} rates); a rate holds only if ${y.holds === 2 ? 'both' : `all ${y.holds}`} of its runs pass, so one lucky run does not decide (a run the generator itself limited is repeated once), and a failed run is followed by a ${y.cooldownMs / 1000} s pause. ` +
        'It runs before the first search and again after the last run (the naive ramp); the machine\'s speed drifts over the minutes between them, so every search is judged against the mean of the two (or the one that found a stable rate).',
    );
    lines.push(
      `  - **Saturated throughput (closed loop)**, as context: autocannon with ${plan.model.truthConnections} connections, each sending its next request when the answer arrives, so the server never idles (${plan.model.truthWarmupMs / 1000} s warm-up, ${plan.model.truthDurationMs / 1000} s measured), ` +
        'before the first search and after every search; each search is shown against the mean of the runs just before and after it. ' +
        'It says how many requests the server can answer, not at what rate it answers within the stopper: a closed loop never lets the queue grow past its connections, whereas requests arriving at a constant rate queue up behind every pause of the server ' +
        "(garbage collection, other work on the shared cores), so p99 passes the stopper below saturation. It is an upper bound on the stable rate: a search answering well under it can still be exact, which is why the target does not use it.",
    );
    lines.push('');
    const known = searches.targets.filter((t) => !t.model);
    if (known.length) {
      const rows = known.flatMap((target) =>
        target.runs.map((run) => {
          const error = errorAgainst(run.answerQps, run.truthQps);
          return [
            target.name,
            `${target.p99Ms} ms`,
            run.truthQps === null ? '-' : k(run.truthQps),
            run.method === 'estimate' ? '`estimateCapacity`' : `naive ramp, +${plan.search.naiveStepQps} QPS`,
            run.answerQps === null ? '-' : `**${k(run.answerQps)}**`,
            error === null ? '-' : `**${signedPercent(error)}**`,
            `**${run.seconds.toFixed(1)}**`,
            `${run.steps.length}`,
            run.verdict,
            `${run.cpu.bench.toFixed(2)} / ${run.cpu.server.toFixed(2)} / ${run.cpu.rest.toFixed(2)}`,
            run.calibrationMs.toFixed(0),
          ];
        }),
      );
      lines.push(table(['target', 'p99 stopper', 'true capacity QPS', 'method', 'answer QPS', 'error', 'wall time s', 'steps', 'verdict', 'CPU cores: bench / server / rest', 'calibration ms'], rows));
      lines.push('');
    }
    const modelTarget = searches.targets.find((t) => t.model);
    if (modelTarget?.model) {
      const { yardsticks } = modelTarget.model;
      const stableCell = (truth: number | null) => (truth === null ? 'none found' : `${k(truth)} (${yardsticks.map((s) => (s.stableQps === null ? 'none' : k(s.stableQps))).join(', ')})`);
      let nth = 0;
      const searchCount = modelTarget.runs.filter((r) => r.method === 'estimate').length;
      const rows = modelTarget.runs.map((run) => {
        const error = errorAgainst(run.answerQps, run.truthQps);
        return [
          run.method === 'estimate' ? `\`estimateCapacity\`${searchCount > 1 ? ` #${++nth}` : ''}` : `naive ramp, +${plan.search.naiveStepQps} QPS`,
          run.answerQps === null ? '-' : `**${k(run.answerQps)}**`,
          stableCell(run.truthQps),
          error === null ? '-' : `**${signedPercent(error)}**`,
          run.saturation ? `${k(run.saturation.qps)} (${run.saturation.runs.map((t) => k(t.rps)).join(', ')})` : '-',
          signedOrDash(errorAgainst(run.answerQps, run.saturation?.qps ?? null)),
          `**${run.seconds.toFixed(1)}**`,
          `${run.steps.length}`,
          run.verdict,
          `${run.cpu.bench.toFixed(2)} / ${run.cpu.server.toFixed(2)} / ${run.cpu.rest.toFixed(2)}`,
          run.calibrationMs.toFixed(0),
        ];
      });
      lines.push(`${modelTarget.name}, p99 stopper ${modelTarget.p99Ms} ms:`);
      lines.push('');
      lines.push(
        table(
          ['method', 'answer QPS', 'stable-rate truth (long open-loop runs) QPS: mean (before, after)', 'error', 'saturated throughput (closed loop) QPS: mean (before, after)', 'error vs saturation', 'wall time s', 'steps', 'verdict', 'CPU cores: bench / server / rest', 'calibration ms'],
          rows,
        ),
      );
      lines.push('');
    }
    lines.push('Steps (offered QPS; ✓ held, ✗ breached, with the stopper; c: a confirmation run):');
    lines.push('');
    for (const target of searches.targets) {
      const searchCount = target.runs.filter((r) => r.method === 'estimate').length;
      let nth = 0;
      for (const run of target.runs) {
        const which = run.method === 'estimate' ? `\`estimateCapacity\`${searchCount > 1 ? ` #${++nth}` : ''}` : 'naive ramp';
        const steps = run.steps.map((s) => `${k(s.offeredQps)}${s.phase === 'confirm' ? 'c' : ''} ${s.pass ? '✓' : `✗ ${s.why ?? ''}`}`.trim()).join(', ');
        lines.push(`- ${target.name}, ${which}: ${steps}`);
      }
      if (target.stats) {
        const st = target.stats;
        lines.push(`  (the server, over both searches: ${st.served.toLocaleString('en-US')} requests served, ${st.abandoned.toLocaleString('en-US')} abandoned in its queue by a client that gave up, longest queue ${st.maxQueue.toLocaleString('en-US')})`);
      }
    }
    lines.push('');
    if (modelTarget?.model) {
      const { yardsticks, saturationRuns } = modelTarget.model;
      lines.push(
        `Model server stable-rate yardstick runs, in order (offered req/s and its share of the saturated throughput the grid was built on; the p99 of each run at that rate, in ms; ✓ held every run, ✗ breached, with the stopper):`,
      );
      lines.push('');
      yardsticks.forEach((found, i) => {
        const when = i === 0 ? 'before the first search' : 'after the last run';
        const outcome =
          found.stableQps === null
            ? `no rate held, not even ${Math.round(y.lowShare * 100)}% of saturation`
            : `**${k(found.stableQps)} req/s** held (${Math.round((found.stableQps / found.saturationQps) * 100)}% of saturation)${found.failedQps === null ? ', the top of the grid: the stable rate may be higher' : `, ${k(found.failedQps)} did not`}`;
        lines.push(`- ${when}, on ${k(found.saturationQps)} req/s saturated: ${yardstickRates(found.runs)}; ${outcome}; ${found.runs.length} runs, ${found.seconds.toFixed(0)} s`);
      });
      lines.push('');
      lines.push(
        `Model server saturation runs (closed loop), in order: ${saturationRuns.map((t) => `${k(t.rps)} req/s (p99 ${t.p99} ms, ${t.errors} errors, server ${t.serverCores.toFixed(2)} cores, rest ${t.restCores.toFixed(2)})`).join('; ')}. ` +
          `At saturation the latency is queueing behind the other connections (about ${plan.model.truthConnections} / throughput), so these runs measure how many requests the server answers, not the rate at which it answers within the stopper. ` +
          'The stable rate sits under them by nature, by how much depending on how often and how long the server pauses; they scale the yardstick\'s grid and are shown as context, and the target is judged against the stable-rate truth, which measures what the search is defined to answer.',
      );
      lines.push('');
    }
  }

  lines.push('### Targets');
  lines.push('');
  const targets: string[][] = [];
  if (throughput) {
    // Judged against the bare responder (the last server), where the server is furthest from the limit.
    const judged = throughput.servers.at(-1)!;
    const ours = best(judged.runs, 'ours');
    const perCore = (r: ToolRun) => r.rps / Math.max(r.clientCores, 1e-9);
    const judge = (tool: 'autocannon' | 'wrk', share: number) => {
      const peer = best(judged.runs, tool);
      const label = `generator >= ${share}x ${tool}'s req/s, one core (${TRIVIAL_LABEL[judged.kind]})`;
      if (!ours || !peer) {
        targets.push([label, 'not run', '**not judged**']);
        problems.push(`${label}: not run`);
        return;
      }
      const byRate = ours.rps / peer.rps;
      const byCore = perCore(ours) / perCore(peer);
      const full = peer.serverCpusBusy >= SATURATED ? `; ${tool}'s run filled the server's CPU, so its own limit is higher` : '';
      // Against a peer the server held back, a ratio that meets the target overstates ours: the peer could send more.
      const met = byRate >= share && (!full || byCore >= share);
      const status = met ? 'met' : byRate >= share ? `**not shown**: met only against ${tool}'s server-bound rate, missed per core` : '**missed**';
      targets.push([label, `**${byRate.toFixed(2)}x** (${k(ours.rps)} / ${k(peer.rps)} req/s${full}); per generator core ${byCore.toFixed(2)}x`, status]);
      if (!met) problems.push(`${label}: ${byRate.toFixed(3)}x (${Math.round(ours.rps)} vs ${Math.round(peer.rps)} req/s), ${byCore.toFixed(3)}x per generator core`);
    };
    judge('autocannon', TARGET_VS_AUTOCANNON);
    judge('wrk', TARGET_VS_WRK);
  }
  if (searches) {
    for (const target of searches.targets) {
      // Every search counts; with several (the model server), the target holds when most of them meet it.
      const label = `${target.name}: within ${TARGET_ERROR * 100}%${target.model ? ' of the stable-rate truth' : ''} in at most ${TARGET_SECONDS} s`;
      const judged = target.runs
        .filter((r) => r.method === 'estimate')
        .map((run) => {
          const error = errorAgainst(run.answerQps, run.truthQps);
          const met = run.converged && error !== null && Math.abs(error) <= TARGET_ERROR && run.seconds <= TARGET_SECONDS;
          const why = run.answerQps === null ? run.verdict : 'no stable-rate truth';
          const context = run.saturation ? ` (vs saturation ${signedOrDash(errorAgainst(run.answerQps, run.saturation.qps))})` : '';
          return { run, met, text: `${error === null ? why : signedPercent(error)} in ${run.seconds.toFixed(1)} s${context}` };
        });
      const metCount = judged.filter((j) => j.met).length;
      const met = metCount * 2 > judged.length;
      const measured = judged.length === 1 ? judged[0]!.text : `${metCount} of ${judged.length} searches: ${judged.map((j) => j.text).join('; ')}`;
      targets.push([label, measured, met ? 'met' : '**missed**']);
      if (!met) problems.push(`${label}: ${measured}`);
    }
  }
  lines.push(table(['target', 'measured', 'status'], targets));
  return { markdown: lines.join('\n'), problems };
}

// ---------------------------------------------------------------------------------------------------

export async function runCapacityBench(options: CapacityBenchOptions): Promise<BenchOutcome> {
  const plan = options.quick ? QUICK : FULL;
  const workDir = mkdtempSync(join(tmpdir(), 'modelfleet-bench-capacity-'));
  const skipped: string[] = [];
  const load: number[] = [];
  try {
    load.push(loadavg()[0]!);
    let throughput: ThroughputResults | null = null;
    try {
      throughput = await benchThroughput(plan, workDir);
      skipped.push(...throughput.skipped);
    } catch (error) {
      log(`(a) failed: ${(error as Error).stack}`);
      skipped.push(`(a) failed: ${(error as Error).message}`);
    }
    load.push(loadavg()[0]!);
    const searches = await benchSearch(plan);
    const { markdown, problems } = report(plan, options.quick, load, throughput, searches, skipped);
    return { id: 'capacity', markdown, problems };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

// Child processes of this benchmark run this same file with a flag.
if (process.argv[1] === SELF) {
  const flag = process.argv[2];
  if (flag === TRIVIAL_SERVER_FLAG) trivialServerMain(JSON.parse(process.argv[3]!) as TrivialServerConfig);
  else if (flag === KNOWN_SERVER_FLAG && process.send) knownServerMain();
  else if (flag === CLIENT_FLAG && process.send) {
    process.once('message', (config) => {
      clientMain(config as ClientConfig).then(
        (result) => process.send!({ result }, () => process.exit(0)),
        (error: unknown) => process.send!({ error: (error as Error).stack ?? String(error) }, () => process.exit(1)),
      );
    });
  }
}
