/**
 * The part of autocannon's programmatic API the capacity benchmark uses; the package ships no types.
 * See the package's README ("API") for the full set of options and result fields.
 */
declare module 'autocannon' {
  interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  }

  interface AutocannonOptions {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** Requests each connection sends in turn, cyclically. */
    requests?: AutocannonRequest[];
    connections?: number;
    pipelining?: number;
    /** Seconds. */
    duration?: number;
    /** Worker threads; unset: this thread. */
    workers?: number;
    timeout?: number;
  }

  interface AutocannonStats {
    average: number;
    mean: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p99: number;
  }

  interface AutocannonResult {
    /** Seconds the run took. */
    duration: number;
    requests: AutocannonStats;
    /** Latencies in milliseconds. */
    latency: AutocannonStats;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    connections: number;
  }

  function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
  export default autocannon;
}
