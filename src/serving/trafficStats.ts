/**
 * What the router observed per model, read by the launch gates (error rate and p99 during a bake) and
 * by sizing (a model type's peak demand). The router writes it; the simulated executor has its own.
 */

export interface ModelTraffic {
  modelId: string;
  fromMs: number;
  toMs: number;
  requests: number;
  /** Answers that were not 2xx, timeouts and connection failures. */
  errors: number;
  /** errors / requests; 0 with no requests. */
  errorRate: number;
  /** Requests per second over the window. */
  qps: number;
  /** Latency through the router, milliseconds; null with no requests. */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface TrafficStats {
  /** One model's traffic over [fromMs, toMs). */
  window(modelId: string, fromMs: number, toMs: number): Promise<ModelTraffic>;
  /** The highest requests per second a model type served (all its models together) over [fromMs, toMs), per minute; null with no traffic. */
  peakQps(modelType: string, fromMs: number, toMs: number): Promise<number | null>;
}
