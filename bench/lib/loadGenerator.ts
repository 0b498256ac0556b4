import { Pool } from 'undici';
import { runLoadStep } from '../../src/capacity/loadGenerator.js';
import type { ReplayRequest } from '../../src/capacity/recording.js';
import { latencyHistogram, recordMs, summarize, type LatencySummary } from './histogram.js';

/** One HTTP request to make: a path (with query) on the pool's origin. */
export type NextPath = () => string;

export interface LoadResult extends LatencySummary {
  /** Completed requests per second over the measured window. */
  throughput: number;
  /** Non-2xx answers and failed requests; must be 0. */
  errors: number;
  /** The first few error descriptions, to say what went wrong. */
  errorSamples: string[];
  /** Open loop only: the rate asked for, and the most requests in flight at once. */
  offeredRate?: number;
  maxInFlight?: number;
  /** Open loop only: how late requests left the generator (ms, p99), already included in the latencies. */
  sendLagP99?: number;
}

export interface HttpLoad {
  origin: string;
  connections: number;
  pool: Pool;
  headers: Record<string, string>;
}

export function httpLoad(origin: string, connections: number, headers: Record<string, string>): HttpLoad {
  return { origin, connections, pool: new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 }), headers };
}

class Errors {
  count = 0;
  samples: string[] = [];
  add(description: string): void {
    this.count += 1;
    if (this.samples.length < 5) this.samples.push(description);
  }
}

/** Sends one GET and reads the whole body; resolves to an error description, or null on 2xx. */
async function send(load: HttpLoad, path: string): Promise<string | null> {
  try {
    const { statusCode, body } = await load.pool.request({ method: 'GET', path, headers: load.headers });
    const bytes = await body.arrayBuffer();
    if (statusCode < 200 || statusCode >= 300) return `${statusCode} ${path}: ${Buffer.from(bytes).toString('utf8').slice(0, 200)}`;
    return null;
  } catch (error) {
    return `${path}: ${(error as Error).message}`;
  }
}

/**
 * `clients` closed-loop clients, each sending its next request when the previous answer is read.
 * Only requests started after the warm-up are recorded. At saturation the latency this reports is
 * mostly queueing: clients / throughput.
 */
export async function closedLoop(load: HttpLoad, next: NextPath, options: { clients: number; warmupMs: number; durationMs: number }): Promise<LoadResult> {
  const histogram = latencyHistogram();
  const errors = new Errors();
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  let completed = 0;
  const client = async () => {
    for (;;) {
      const sent = performance.now();
      if (sent >= end) return;
      const error = await send(load, next());
      const done = performance.now();
      if (sent < measureFrom) continue;
      if (error) errors.add(error);
      recordMs(histogram, done - sent);
      if (done <= end) completed += 1;
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  return { ...summarize(histogram), throughput: completed / (options.durationMs / 1000), errors: errors.count, errorSamples: errors.samples };
}

/**
 * Requests at a constant offered rate, each timed from when it was scheduled to be sent (wrk2's
 * correction for coordinated omission): the capacity estimator's open-loop generator, in this
 * thread, over the benchmark's own pool.
 */
export async function openLoop(load: HttpLoad, next: NextPath, options: { rate: number; warmupMs: number; durationMs: number }): Promise<LoadResult> {
  const request = (): ReplayRequest => ({ method: 'GET', path: next(), headers: load.headers, body: null, ts: null });
  const m = await runLoadStep(
    // The pool bounds connections; the generous timeout and cap keep every request measured, as before.
    { target: load.origin, requests: request, dispatcher: load.pool, timeoutMs: 60_000, maxInFlight: 1_000_000, connections: load.connections },
    { rate: options.rate, warmupMs: options.warmupMs, durationMs: options.durationMs },
  );
  const { count, p50, p90, p99, p999, max, mean } = m.latency;
  return {
    count,
    p50,
    p90,
    p99,
    p999,
    max,
    mean,
    throughput: m.achievedQps,
    errors: m.errors,
    errorSamples: m.errorSamples,
    offeredRate: options.rate,
    maxInFlight: m.maxInFlight,
    sendLagP99: m.sendLag.p99,
  };
}
