import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Client, Pool, type Dispatcher } from 'undici';
import { invalidInput } from '../core/errors.js';
import { decodeHistogram, encodeHistogram, latencyHistogram, mergeHistograms, recordMs, summarize, type Histogram, type LatencySummary } from './histogram.js';
import { RawHttpDispatcher, type Transport } from './rawHttpDispatcher.js';
import type { ReplayRequest } from './recording.js';

/**
 * Why a request failed: a non-2xx answer by status class, no answer within the timeout, a broken or
 * refused connection, or `overload`: the generator never sent it because its own in-flight cap or
 * connections were exhausted (see {@link LoadGeneratorOptions.maxInFlight}).
 */
export const ErrorClass = ['http_3xx', 'http_4xx', 'http_5xx', 'timeout', 'connection', 'overload'] as const;
export type ErrorClass = (typeof ErrorClass)[number];

/** Every error class at 0. */
export const noErrors = (): Record<ErrorClass, number> => ({ http_3xx: 0, http_4xx: 0, http_5xx: 0, timeout: 0, connection: 0, overload: 0 });

/**
 * Enough for 20,000 requests per second at 50 ms each; bounded because a target that stops answering
 * would otherwise have the generator open a connection per waiting request, and spend its CPU on that.
 */
export const DEFAULT_CONNECTIONS = 1024;

/** Requests to replay: a recording (cycled through), or a function giving the request for each global index. */
export type RequestSource = readonly ReplayRequest[] | ((index: number) => ReplayRequest);

export interface LoadGeneratorOptions {
  /** Where to send: `http://host:port`, optionally with a path prefix put before each recorded path. */
  target: string;
  requests: RequestSource;
  /** Headers sent with every request, over the recorded ones (e.g. authorization). */
  headers?: Record<string, string>;
  /** A request without a complete answer after this long is a `timeout` error. Default 2000 ms. */
  timeoutMs?: number;
  /**
   * Most requests in flight at once (over all workers). A request due when the cap is reached is not
   * sent and counts as an `overload` error, so an overloaded target cannot exhaust the generator's
   * memory. Default 10,000.
   */
  maxInFlight?: number;
  /**
   * Most keep-alive connections (over all workers), opened as needed; default 1024. A request due
   * while all are busy waits for one, and the wait counts in its latency. Testing rate R against a
   * latency limit L needs about R x L connections; with fewer, the step is reported as limited by
   * the generator rather than failed by the target. `null`: unbounded (only the in-flight cap holds).
   */
  connections?: number | null;
  /** 0 (default): generate load in this thread; N: in N worker threads, each with its own connections. */
  workers?: number;
  /**
   * CPU time burnt per request, in microseconds. Only for tests and demonstrations: it makes the
   * generator the bottleneck on purpose, to show that such a run is reported as generator-bound.
   */
  clientCostUs?: number;
  /** In-process runs only: send through this dispatcher instead of a pool of the generator's own. */
  dispatcher?: Dispatcher;
  /**
   * The HTTP client for http:// targets: `raw` (default) writes each recorded request's prebuilt bytes
   * on keep-alive sockets and parses only where each answer ends (see rawHttpDispatcher.ts), so the
   * generator costs less per request than the servers it measures; `undici` is the general client.
   * https:// targets always use undici.
   */
  transport?: TransportKind;
}

export type TransportKind = 'raw' | 'undici';
export const DEFAULT_TRANSPORT: TransportKind = 'raw';

/** One constant-rate run: `rate` requests per second for warm-up plus duration; only the duration is measured. */
export interface LoadStep {
  rate: number;
  warmupMs: number;
  durationMs: number;
}

/** What a run measured; latencies in milliseconds, rates per second. */
export interface StepMeasurement {
  offeredQps: number;
  durationMs: number;
  /** Requests scheduled inside the measured window. */
  scheduled: number;
  /** Requests the generator sent (or dropped at its cap) inside the window, per second: below the offered rate when it fell behind. */
  issuedQps: number;
  /** 2xx answers received inside the window, per second. */
  achievedQps: number;
  /** From each request's scheduled send time to its answer (or timeout): what a caller at this rate would see. */
  latency: LatencySummary;
  /** From the moment each request went out on a connection to its answer: the target's share of the latency. */
  wireLatency: LatencySummary;
  /** How late requests left the generator, already included in {@link latency}. */
  sendLag: { p50: number; p99: number; max: number };
  errors: number;
  /** Errors over requests scheduled in the window. */
  errorRate: number;
  errorsByClass: Record<ErrorClass, number>;
  /** The first few error descriptions, to say what went wrong. */
  errorSamples: string[];
  maxInFlight: number;
  inFlightLimit: number;
  /** The generator's connection limit (over all workers); null: unbounded. */
  connections: number | null;
  generator: {
    workers: number;
    /** The generator's own event loop over the window (the busiest worker's): delay p99 and utilization 0-1. */
    eventLoopDelayP99Ms: number;
    eventLoopUtilization: number;
  };
}

/** A look at a run in progress, over the measured window so far. */
export interface StepProgress {
  elapsedMs: number;
  /** Requests due so far in the window. */
  scheduled: number;
  completed: number;
  errors: number;
  /** The slowest thread's p99 so far (exact with one thread). */
  p99: number;
}

// ---------------------------------------------------------------------------------------------------
// One slice of a step, run in one thread. With N workers, worker w sends the global requests w, w+N, ...
// of one schedule, so together they offer the rate evenly spaced.

/** How one thread sends: the parts of the options that cross into a worker. */
interface SliceConfig {
  origin: string;
  basePath: string;
  headers: Record<string, string>;
  timeoutMs: number;
  maxInFlight: number;
  connections: number | null;
  clientCostUs: number;
  transport: TransportKind;
}

/** One step, as a thread runs its slice of it. */
interface SlicePlan {
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** Absolute time (timeOrigin + now) of global request 0, shared by all threads. */
  startAt: number;
  /** Recording index of global request 0: successive steps continue through the recording. */
  cursor: number;
  slice: number;
  slices: number;
  progressEveryMs: number | null;
}

/** A slice's results, with histograms encoded so they can cross threads and be merged exactly. */
interface SliceResult {
  scheduled: number;
  issuedInWindow: number;
  succeededInWindow: number;
  errorsByClass: Record<ErrorClass, number>;
  errorSamples: string[];
  latency: string;
  wire: string;
  lag: string;
  maxInFlight: number;
  loopDelayP99Ms: number;
  loopUtilization: number;
}

interface SliceProgress {
  scheduled: number;
  completed: number;
  errors: number;
  p99: number;
}

/** Splits a target URL into the pool's origin and a path prefix; rejects anything but http(s). */
export function parseTarget(target: string): { origin: string; basePath: string } {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw invalidInput(`--target '${target}' is not a URL: give one like http://127.0.0.1:8500`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidInput(`--target '${target}' is not an http(s) URL: give one like http://127.0.0.1:8500`);
  if (url.search || url.hash) throw invalidInput(`--target '${target}' has a query or fragment: the recording's paths carry those`);
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
}

const errorCode = (error: unknown): string => {
  const e = error as { code?: string; errors?: Array<{ code?: string }>; cause?: { code?: string } };
  return e?.code ?? e?.errors?.[0]?.code ?? e?.cause?.code ?? 'ERROR';
};

/** A connection-level failure in a word or two: `ECONNREFUSED`, `UND_ERR_SOCKET: other side closed`. */
export function describeError(error: unknown): string {
  const code = errorCode(error);
  const message = (error as Error)?.message;
  return message && !message.includes(code) ? `${code}: ${message}` : message || code;
}

const statusClass = (status: number): ErrorClass | null =>
  status >= 200 && status < 300 ? null : status >= 500 ? 'http_5xx' : status >= 400 ? 'http_4xx' : 'http_3xx';

type Controller = Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestStart']>>[0];

/** One request in flight; undici calls it back as the request goes out and the answer arrives. */
class InFlight implements Dispatcher.DispatchHandler {
  status = 0;
  wireAt = 0;
  done = false;
  controller: Controller | null = null;

  constructor(
    private readonly run: SliceRun,
    readonly request: Dispatcher.DispatchOptions,
    readonly scheduled: number,
    readonly issuedAt: number,
    readonly measured: boolean,
  ) {}

  onRequestStart(controller: Controller): void {
    // Timed out while waiting for a connection: it must not go out now.
    if (this.done) return controller.abort(new Error('timed out before it was sent'));
    this.controller = controller;
    this.wireAt = performance.now();
  }
  onResponseStart(_controller: Controller, statusCode: number): void {
    this.status = statusCode;
  }
  onResponseData(): void {}
  onResponseEnd(): void {
    this.run.answered(this);
  }
  onResponseError(_controller: Controller, error: Error): void {
    this.run.failed(this, error);
  }
}

/** Builds the dispatch options of a request once; they are reused every time it is replayed. */
function dispatchOptions(config: SliceConfig, request: ReplayRequest): Dispatcher.DispatchOptions {
  const backstop = config.timeoutMs + 5_000;
  return {
    method: request.method,
    path: config.basePath + request.path,
    headers: { ...request.headers, ...config.headers },
    ...(request.body ? { body: request.body } : {}),
    headersTimeout: backstop,
    bodyTimeout: backstop,
  };
}

/** The state of one slice's run: counters, histograms, the requests in flight. */
class SliceRun {
  readonly latency = latencyHistogram();
  readonly wire = latencyHistogram();
  readonly lag = latencyHistogram();
  readonly errorsByClass = noErrors();
  readonly errorSamples: string[] = [];
  /** Insertion order is issue order, so the timeout sweep stops at the first young request. */
  readonly inFlight = new Set<InFlight>();
  scheduled = 0;
  issuedInWindow = 0;
  succeededInWindow = 0;
  completed = 0;
  errors = 0;
  maxInFlight = 0;
  issuing = true;
  private drained: (() => void) | null = null;

  constructor(
    readonly config: SliceConfig,
    readonly measureFrom: number,
    readonly end: number,
  ) {}

  private error(request: InFlight, kind: ErrorClass, description: string): void {
    if (!request.measured) return;
    this.errorsByClass[kind] += 1;
    this.errors += 1;
    if (this.errorSamples.length < 5) this.errorSamples.push(description);
  }

  private settle(request: InFlight): void {
    request.done = true;
    this.inFlight.delete(request);
    if (!this.issuing && !this.inFlight.size) this.drained?.();
  }

  answered(request: InFlight): void {
    if (request.done) return;
    this.settle(request);
    const now = performance.now();
    const kind = statusClass(request.status);
    if (kind === null) {
      if (now >= this.measureFrom && now <= this.end) this.succeededInWindow += 1;
    } else this.error(request, kind, `HTTP ${request.status} from ${request.request.method} ${request.request.path}`);
    if (!request.measured) return;
    this.completed += 1;
    recordMs(this.latency, now - request.scheduled);
    recordMs(this.wire, now - request.wireAt);
  }

  failed(request: InFlight, error: Error): void {
    if (request.done) return;
    this.settle(request);
    const code = errorCode(error);
    const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
    this.error(request, timedOut ? 'timeout' : 'connection', describeError(error));
    if (request.measured && timedOut) {
      this.completed += 1;
      recordMs(this.latency, performance.now() - request.scheduled);
    }
  }

  overloaded(measured: boolean): void {
    if (!measured) return;
    this.errorsByClass.overload += 1;
    this.errors += 1;
    if (this.errorSamples.length < 5) this.errorSamples.push(`not sent: ${this.config.maxInFlight} requests already in flight (the generator's cap)`);
  }

  /** Times out the requests older than the timeout; a timeout is a latency too (at least the timeout). */
  sweep(now: number): void {
    const limit = this.config.timeoutMs;
    for (const request of this.inFlight) {
      if (now - request.issuedAt < limit) break;
      this.settle(request);
      if (request.wireAt) {
        this.error(request, 'timeout', `no answer within ${limit} ms`);
        if (request.measured) {
          this.completed += 1;
          recordMs(this.latency, now - request.scheduled);
          recordMs(this.wire, now - request.wireAt);
        }
        request.controller?.abort(new Error(`no answer within ${limit} ms`));
      } else if (this.config.connections !== null) {
        // It never left: every connection was busy. That is the generator's limit, not the target's answer.
        this.error(request, 'overload', `not sent within ${limit} ms: all ${this.config.connections} connections were busy`);
      } else {
        // Connections are opened on demand, so only the target not accepting one leaves a request unsent.
        this.error(request, 'timeout', `not connected within ${limit} ms`);
      }
    }
  }

  whenDrained(): Promise<void> {
    if (!this.inFlight.size) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }
}

const LOOP_RESOLUTION_MS = 10;
/** Longest stretch the send loop runs without letting the event loop read answers. */
const TICK_BUDGET_MS = 5;

/** Spins for `us` microseconds: see {@link LoadGeneratorOptions.clientCostUs}. */
function burn(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

/** Sends one thread's share of load: owns its connection pool across steps. */
export class SliceSender {
  private readonly pool: Transport;
  private readonly ownsPool: boolean;
  private readonly prepared: Array<Dispatcher.DispatchOptions> | null;

  constructor(
    private readonly config: SliceConfig,
    private readonly requests: RequestSource,
    dispatcher?: Dispatcher,
  ) {
    this.ownsPool = !dispatcher;
    const connectTimeout = Math.min(10_000, config.timeoutMs);
    this.pool =
      dispatcher ??
      (config.transport === 'raw' && config.origin.startsWith('http:')
        ? new RawHttpDispatcher(config.origin, { connections: config.connections, connectTimeoutMs: connectTimeout })
        : new Pool(config.origin, {
            connections: config.connections,
            pipelining: 1,
            keepAliveTimeout: 60_000,
            connectTimeout,
          }));
    this.prepared = typeof requests === 'function' ? null : requests.map((r) => dispatchOptions(config, r));
  }

  private options(index: number): Dispatcher.DispatchOptions {
    if (this.prepared) return this.prepared[index % this.prepared.length]!;
    return dispatchOptions(this.config, (this.requests as (i: number) => ReplayRequest)(index));
  }

  /** Runs this thread's slice of a step: open loop, every request timed from its scheduled send. */
  async run(plan: SlicePlan, onProgress?: (progress: SliceProgress) => void): Promise<SliceResult> {
    const interval = 1000 / plan.rate;
    const t0 = plan.startAt - performance.timeOrigin;
    const measureFrom = t0 + plan.warmupMs;
    const end = measureFrom + plan.durationMs;
    const total = Math.ceil(((plan.warmupMs + plan.durationMs) * plan.rate) / 1000);
    const run = new SliceRun(this.config, measureFrom, end);
    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    let elu: ReturnType<typeof performance.eventLoopUtilization> | null = null;
    let loopUtilization = 0;
    const windowTimers = [
      setTimeout(() => {
        loopDelay.enable();
        elu = performance.eventLoopUtilization();
      }, Math.max(0, measureFrom - performance.now())),
      setTimeout(() => {
        loopDelay.disable();
        if (elu) loopUtilization = performance.eventLoopUtilization(elu).utilization;
      }, Math.max(0, end - performance.now())),
    ];
    const progress =
      onProgress && plan.progressEveryMs
        ? setInterval(() => {
            if (performance.now() >= measureFrom) onProgress({ scheduled: run.scheduled, completed: run.completed, errors: run.errors, p99: run.latency.getValueAtPercentile(99) / 1000 });
          }, plan.progressEveryMs)
        : null;
    const sweeper = setInterval(() => run.sweep(performance.now()), Math.max(5, Math.min(100, this.config.timeoutMs / 20)));

    let g = plan.slice;
    await new Promise<void>((resolve) => {
      const tick = () => {
        let now = performance.now();
        // A generator behind schedule would issue without end; yielding now and then lets answers be read.
        const yieldAt = now + TICK_BUDGET_MS;
        while (g < total) {
          const scheduled = t0 + g * interval;
          if (scheduled > now) break;
          const measured = scheduled >= measureFrom;
          if (measured) {
            run.scheduled += 1;
            recordMs(run.lag, now - scheduled);
          }
          if (now >= measureFrom && now <= end) run.issuedInWindow += 1;
          if (run.inFlight.size >= this.config.maxInFlight) run.overloaded(measured);
          else {
            if (this.config.clientCostUs) burn(this.config.clientCostUs);
            const options = this.options(plan.cursor + g);
            const request = new InFlight(run, options, scheduled, now, measured);
            run.inFlight.add(request);
            if (run.inFlight.size > run.maxInFlight) run.maxInFlight = run.inFlight.size;
            this.pool.dispatch(options, request);
          }
          g += plan.slices;
          now = performance.now();
          if (now > yieldAt) return void setImmediate(tick);
        }
        if (g >= total) return resolve();
        setTimeout(tick, Math.max(0, Math.floor(t0 + g * interval - performance.now())));
      };
      setTimeout(tick, Math.max(0, Math.floor(t0 + g * interval - performance.now())));
    });
    run.issuing = false;
    await run.whenDrained();
    // The window's end timer may not have fired yet when the last request is due just before it.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, end - performance.now())));
    clearInterval(sweeper);
    if (progress) clearInterval(progress);
    for (const timer of windowTimers) clearTimeout(timer);
    loopDelay.disable();
    return {
      scheduled: run.scheduled,
      issuedInWindow: run.issuedInWindow,
      succeededInWindow: run.succeededInWindow,
      errorsByClass: run.errorsByClass,
      errorSamples: run.errorSamples,
      latency: encodeHistogram(run.latency),
      wire: encodeHistogram(run.wire),
      lag: encodeHistogram(run.lag),
      maxInFlight: run.maxInFlight,
      // The monitor's samples are intervals of its own timer, so its resolution is taken off.
      loopDelayP99Ms: loopDelay.count ? Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) : 0,
      loopUtilization,
    };
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.destroy();
  }
}

/** Adds up the slices of one step. */
function mergeSlices(step: LoadStep, slices: readonly SliceResult[], limits: { inFlight: number; connections: number | null; workers: number }): StepMeasurement {
  const seconds = step.durationMs / 1000;
  const sum = (f: (s: SliceResult) => number) => slices.reduce((total, s) => total + f(s), 0);
  const decoded = (f: (s: SliceResult) => string): Histogram => mergeHistograms(slices.map((s) => decodeHistogram(f(s))));
  const errorsByClass = noErrors();
  for (const s of slices) for (const kind of ErrorClass) errorsByClass[kind] += s.errorsByClass[kind];
  const errors = ErrorClass.reduce((total, kind) => total + errorsByClass[kind], 0);
  const scheduled = sum((s) => s.scheduled);
  const lag = summarize(decoded((s) => s.lag));
  return {
    offeredQps: step.rate,
    durationMs: step.durationMs,
    scheduled,
    issuedQps: sum((s) => s.issuedInWindow) / seconds,
    achievedQps: sum((s) => s.succeededInWindow) / seconds,
    latency: summarize(decoded((s) => s.latency)),
    wireLatency: summarize(decoded((s) => s.wire)),
    sendLag: { p50: lag.p50, p99: lag.p99, max: lag.max },
    errors,
    errorRate: scheduled ? errors / scheduled : 0,
    errorsByClass,
    errorSamples: slices.flatMap((s) => s.errorSamples).slice(0, 5),
    maxInFlight: sum((s) => s.maxInFlight),
    inFlightLimit: limits.inFlight,
    connections: limits.connections,
    generator: {
      workers: limits.workers,
      eventLoopDelayP99Ms: Math.max(...slices.map((s) => s.loopDelayP99Ms)),
      eventLoopUtilization: Math.max(...slices.map((s) => s.loopUtilization)),
    },
  };
}

/** What a worker thread is told: its slice's configuration and the recording, once. */
export interface WorkerSetup {
  config: SliceConfig;
  requests: ReplayRequest[];
}
/** Messages between the generator and its worker threads. */
export type ToWorker = { type: 'run'; id: number; plan: SlicePlan } | { type: 'close' };
export type FromWorker = { type: 'result'; id: number; result: SliceResult } | { type: 'progress'; id: number; progress: SliceProgress } | { type: 'closed' };

/** Worker threads that have ended (crashed or closed): nothing more is sent to them. */
const exited = new WeakSet<Worker>();

function checkStep(step: LoadStep): void {
  if (!(step.rate > 0) || !Number.isFinite(step.rate)) throw invalidInput(`the rate must be a positive number of requests per second, not ${step.rate}`);
  if (!(step.durationMs > 0)) throw invalidInput(`the step duration must be positive, not ${step.durationMs} ms`);
  if (!(step.warmupMs >= 0)) throw invalidInput(`the warm-up must be 0 or more, not ${step.warmupMs} ms`);
}

/**
 * An open-loop HTTP load generator (wrk2's model): requests leave at a constant rate on a fixed
 * timeline, each timed from when it was scheduled to leave, so a target that queues cannot slow the
 * generator down and hide its queueing (no coordinated omission). It replays a recording cyclically,
 * bodies and headers included, over keep-alive connections, in this thread or in worker threads.
 * Create with {@link LoadGenerator.start}; run steps one after another; {@link LoadGenerator.close} at the end.
 */
export class LoadGenerator {
  private cursor = 0;
  private runs = 0;

  private constructor(
    /** Worker threads in use (0: this thread). */
    readonly workers: number,
    readonly inFlightLimit: number,
    /** Connection limit over all workers; null: unbounded. */
    readonly connections: number | null,
    private readonly local: SliceSender | null,
    private readonly threads: Worker[],
  ) {}

  /** Opens the connection pool, or starts the worker threads with the recording. */
  static async start(options: LoadGeneratorOptions): Promise<LoadGenerator> {
    const { origin, basePath } = parseTarget(options.target);
    const workers = Math.max(0, Math.floor(options.workers ?? 0));
    const inFlightLimit = Math.max(1, Math.floor(options.maxInFlight ?? 10_000));
    const config: SliceConfig = {
      origin,
      basePath,
      headers: options.headers ?? {},
      timeoutMs: options.timeoutMs ?? 2000,
      maxInFlight: Math.max(1, Math.ceil(inFlightLimit / Math.max(1, workers))),
      connections: options.connections === null ? null : Math.max(1, Math.ceil((options.connections ?? DEFAULT_CONNECTIONS) / Math.max(1, workers))),
      clientCostUs: options.clientCostUs ?? 0,
      transport: options.transport ?? DEFAULT_TRANSPORT,
    };
    if (typeof options.requests !== 'function' && !options.requests.length) throw invalidInput('no requests to replay: the recording is empty');
    const connections = config.connections === null ? null : config.connections * Math.max(1, workers);
    if (!workers) return new LoadGenerator(0, inFlightLimit, connections, new SliceSender(config, options.requests, options.dispatcher), []);
    if (typeof options.requests === 'function') throw invalidInput('worker threads replay a recording: pass the requests as an array');
    if (options.dispatcher) throw invalidInput('worker threads open their own connections: a dispatcher works in this thread only');
    const setup: WorkerSetup = { config, requests: [...options.requests] };
    const threads = Array.from({ length: workers }, () => new Worker(new URL('./loadWorker.js', import.meta.url), { workerData: setup }));
    for (const thread of threads) thread.once('exit', () => exited.add(thread));
    await Promise.all(
      threads.map(
        (thread) =>
          new Promise<void>((resolve, reject) => {
            thread.once('online', resolve);
            thread.once('error', reject);
          }),
      ),
    );
    return new LoadGenerator(workers, inFlightLimit, connections, null, threads);
  }

  private get limits() {
    return { inFlight: this.inFlightLimit, connections: this.connections, workers: this.workers };
  }

  /**
   * Offers `step.rate` requests per second for the warm-up and then the measured duration, waits for
   * every answer (or its timeout) and reports the measured window.
   */
  async run(step: LoadStep, onProgress?: (progress: StepProgress) => void): Promise<StepMeasurement> {
    checkStep(step);
    const slices = Math.max(1, this.workers);
    // Worker threads need a moment to receive the plan before the first request is due.
    const startAt = performance.timeOrigin + performance.now() + (this.workers ? 50 : 5);
    const cursor = this.cursor;
    this.cursor += Math.ceil(((step.warmupMs + step.durationMs) * step.rate) / 1000);
    const plan = (slice: number): SlicePlan => ({ ...step, startAt, cursor, slice, slices, progressEveryMs: onProgress ? 500 : null });
    const measureFrom = startAt + step.warmupMs;
    const latest: SliceProgress[] = [];
    const report = (slice: number, progress: SliceProgress) => {
      latest[slice] = progress;
      const all = latest.filter(Boolean);
      onProgress?.({
        elapsedMs: Math.max(0, performance.timeOrigin + performance.now() - measureFrom),
        scheduled: all.reduce((t, p) => t + p.scheduled, 0),
        completed: all.reduce((t, p) => t + p.completed, 0),
        errors: all.reduce((t, p) => t + p.errors, 0),
        p99: Math.max(0, ...all.map((p) => p.p99)),
      });
    };
    if (this.local) {
      const result = await this.local.run(plan(0), (p) => report(0, p));
      return mergeSlices(step, [result], this.limits);
    }
    const id = ++this.runs;
    const results = await Promise.all(
      this.threads.map(
        (thread, slice) =>
          new Promise<SliceResult>((resolve, reject) => {
            const onMessage = (message: FromWorker) => {
              if (message.type === 'progress' && message.id === id) report(slice, message.progress);
              if (message.type !== 'result' || message.id !== id) return;
              thread.off('message', onMessage);
              thread.off('error', onError);
              resolve(message.result);
            };
            const onError = (error: Error) => {
              thread.off('message', onMessage);
              reject(error);
            };
            thread.on('message', onMessage);
            thread.once('error', onError);
            thread.postMessage({ type: 'run', id, plan: plan(slice) } satisfies ToWorker);
          }),
      ),
    );
    return mergeSlices(step, results, this.limits);
  }

  /** Closes the connections and stops the worker threads. */
  async close(): Promise<void> {
    await this.local?.close();
    await Promise.all(
      this.threads.map(
        (thread) =>
          new Promise<void>((resolve) => {
            if (exited.has(thread)) return resolve();
            thread.once('exit', () => resolve());
            thread.postMessage({ type: 'close' } satisfies ToWorker);
          }),
      ),
    );
  }
}

/** Runs one step with a generator of its own: for a single measurement, as the benchmarks take. */
export async function runLoadStep(options: LoadGeneratorOptions, step: LoadStep): Promise<StepMeasurement> {
  const generator = await LoadGenerator.start(options);
  try {
    return await generator.run(step);
  } finally {
    await generator.close();
  }
}

/** Worker threads to use when one core cannot offer a rate: every core the process may use. */
export const maxUsefulWorkers = (): number => availableParallelism();

/** The answer to one request sent on its own, before any load: proves the target is there. */
export interface ProbeAnswer {
  status: number;
  ms: number;
  /** The start of the body, to quote when the status is not 2xx. */
  bodyStart: string;
}

/**
 * Sends one request and reads the answer; throws `invalid_input` with the reason ("cannot connect to
 * URL: ECONNREFUSED") when there is none within the timeout.
 */
export async function probeTarget(target: string, request: ReplayRequest, options: { timeoutMs: number; headers?: Record<string, string> }): Promise<ProbeAnswer> {
  const { origin, basePath } = parseTarget(target);
  const client = new Client(origin, { connectTimeout: options.timeoutMs, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
  const started = performance.now();
  try {
    const answer = await client.request({
      method: request.method,
      path: basePath + request.path,
      headers: { ...request.headers, ...options.headers },
      ...(request.body ? { body: request.body } : {}),
    });
    const body = await answer.body.text();
    return { status: answer.statusCode, ms: performance.now() - started, bodyStart: body.slice(0, 300) };
  } catch (error) {
    const code = errorCode(error);
    const why = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' ? `no answer within ${options.timeoutMs} ms` : code;
    throw invalidInput(`cannot connect to ${target}: ${why}`, [{ path: 'target', message: `${request.method} ${basePath + request.path}: ${describeError(error)}` }]);
  } finally {
    await client.destroy();
  }
}
