import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The router's Prometheus metrics, in a registry of its own (tests run several routers in one
 * process). Series are labelled by model type and model only for types the registry knows: a request
 * for an unknown type counts under `model_type="(unknown)"`, so a client sending arbitrary paths
 * cannot grow the label sets.
 *
 * Request counts live in plain numbers per model and are copied into the counters when scraped:
 * prom-client hashes the label set on every increment, which the hot path does not need to pay.
 */

/** How a request ended. */
export const RouterOutcome = [
  /** A replica answered 2xx. */
  'ok',
  /** A replica answered 4xx: the request was malformed. */
  'replica_4xx',
  /** A replica answered 5xx. */
  'replica_5xx',
  /** No replica could be reached, even after the retry (502). */
  'unreachable',
  /** The replica did not answer in time (504). */
  'timeout',
  /** Neither the arm's model nor the baseline had a ready replica (503). */
  'no_replica',
  /** The type has no live model taking traffic (503). */
  'no_model',
  /** No such model type (404). */
  'unknown_type',
  /** Refused by the router itself: too large, wrong method (4xx). */
  'rejected',
] as const;
export type RouterOutcome = (typeof RouterOutcome)[number];

/** The model type label of requests for types the registry does not know. */
export const UNKNOWN_TYPE = '(unknown)';

class Series {
  readonly counts = new Float64Array(RouterOutcome.length);
  fallbacks = 0;
  retries = 0;
  readonly labels: { model_type: string; model: string };
  constructor(modelType: string, modelId: string) {
    this.labels = { model_type: modelType, model: modelId };
  }
}

const OUTCOME_INDEX = Object.fromEntries(RouterOutcome.map((o, i) => [o, i])) as Record<RouterOutcome, number>;

export class RouterMetrics {
  readonly registry: Registry;
  private readonly series = new Map<string, Series>();
  private readonly duration: Histogram<'model_type' | 'model'>;

  constructor(registry = new Registry()) {
    this.registry = registry;
    collectDefaultMetrics({ register: registry });
    const series = this.series;
    new Counter({
      name: 'modelfleet_router_requests_total',
      help: 'Requests routed, by model type, the model that answered (empty when none did) and outcome',
      labelNames: ['model_type', 'model', 'outcome'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of series.values()) {
          for (let i = 0; i < RouterOutcome.length; i++) if (s.counts[i]) this.inc({ ...s.labels, outcome: RouterOutcome[i]! }, s.counts[i]);
        }
      },
    });
    new Counter({
      name: 'modelfleet_router_fallbacks_total',
      help: "Requests whose arm's model had no reachable replica, served by the type's baseline instead; by the arm's model",
      labelNames: ['model_type', 'model'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of series.values()) if (s.fallbacks) this.inc(s.labels, s.fallbacks);
      },
    });
    new Counter({
      name: 'modelfleet_router_retries_total',
      help: 'Requests sent a second time after a replica refused or reset the connection; by the model first tried',
      labelNames: ['model_type', 'model'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of series.values()) if (s.retries) this.inc(s.labels, s.retries);
      },
    });
    this.duration = new Histogram({
      name: 'modelfleet_router_request_duration_seconds',
      help: 'Time from a request arriving at the router to its answer, by model type and the model that answered',
      labelNames: ['model_type', 'model'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    });
  }

  private of(modelType: string, modelId: string): Series {
    const key = modelId || modelType;
    let s = this.series.get(key);
    if (!s) {
      s = new Series(modelType, modelId);
      this.series.set(key, s);
    }
    return s;
  }

  /** Counts one request; `modelId` is '' when no model answered. */
  request(modelType: string, modelId: string, outcome: RouterOutcome, seconds: number): void {
    const s = this.of(modelType, modelId);
    const i = OUTCOME_INDEX[outcome];
    s.counts[i] = s.counts[i]! + 1;
    this.duration.observe(s.labels, seconds);
  }

  fallback(modelType: string, assignedModelId: string): void {
    this.of(modelType, assignedModelId).fallbacks++;
  }

  retry(modelType: string, modelId: string): void {
    this.of(modelType, modelId).retries++;
  }

  async text(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
