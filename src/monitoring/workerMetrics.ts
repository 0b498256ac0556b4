import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { StreamWorkerStats } from '../stability/streamWorker.js';

/**
 * What a stream worker exposes to Prometheus, read from its running totals at each scrape: messages by
 * outcome, events stored, batches, failed flushes, lag and backlog, and the process metrics. The
 * per-model prediction counters stay with the API servers, which count each request once, so a sum
 * over every process does not count them twice.
 */
export function workerMetricsRegistry(stats: () => StreamWorkerStats): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Each counter is set from the worker's own monotonic total when scraped.
  const fromTotal = (counter: Counter<string>, value: number, labels: Record<string, string> = {}) => {
    counter.reset();
    counter.inc(labels, value);
  };
  new Counter({
    name: 'modelfleet_worker_messages_total',
    help: 'Event-stream messages this worker handled: stored (their sums added), duplicate (delivered again after being stored; dropped), undecodable (terminated)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const s = stats();
      this.reset();
      this.inc({ outcome: 'stored' }, s.messages);
      this.inc({ outcome: 'duplicate' }, s.duplicates);
      this.inc({ outcome: 'undecodable' }, s.undecodable);
    },
  });
  new Counter({ name: 'modelfleet_worker_events_total', help: 'Labeled predictions in the messages this worker stored', registers: [registry], collect() { fromTotal(this, stats().events); } });
  new Counter({ name: 'modelfleet_worker_batches_total', help: 'Transactions this worker committed', registers: [registry], collect() { fromTotal(this, stats().batches); } });
  new Counter({ name: 'modelfleet_worker_failed_flushes_total', help: 'Batch writes that failed and were retried (the database is failing)', registers: [registry], collect() { fromTotal(this, stats().failedFlushes); } });
  new Gauge({
    name: 'modelfleet_worker_lag_seconds',
    help: 'From an API server accepting the newest message of the last batch to this worker committing it',
    registers: [registry],
    collect() {
      const lag = stats().lagMs;
      if (lag !== null) this.set(lag / 1000);
    },
  });
  new Gauge({
    name: 'modelfleet_worker_backlog_messages',
    help: 'Messages waiting in the stream after the last batch, as the stream reported it',
    registers: [registry],
    collect() {
      const backlog = stats().backlog;
      if (backlog !== null) this.set(backlog);
    },
  });
  return registry;
}
