import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

/**
 * The router's side of the connections to replicas: one undici keep-alive pool per replica, a count
 * of requests outstanding on each (the router sends to the least loaded), and a short ejection of a
 * replica that refused or reset a connection, so the requests after a crash do not each try it first.
 *
 * Answers are read whole before anything reaches the client: a replica that dies halfway through
 * its answer then costs a retry elsewhere, not a broken response.
 */

export interface ReplicaAnswer {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

export interface ReplicaBalancerOptions {
  /** Most connections open to one replica. Default 128. */
  connectionsPerReplica: number;
  /** A replica that has not answered (headers, then each body chunk) within this fails the request as a timeout. Default 10 s. */
  timeoutMs: number;
  /** Connecting longer than this is a refusal (retried elsewhere). Default 2 s. */
  connectTimeoutMs: number;
  /** How long a replica that refused or reset a connection is avoided, unless no other is left. Default 2 s. */
  ejectMs: number;
  /** Largest answer read from a replica. Default 64 MiB. */
  maxAnswerBytes: number;
}

export const DEFAULT_BALANCER_OPTIONS: ReplicaBalancerOptions = {
  connectionsPerReplica: 128,
  timeoutMs: 10_000,
  connectTimeoutMs: 2000,
  ejectMs: 2000,
  maxAnswerBytes: 64 * 1024 * 1024,
};

/**
 * Errors where the request cannot have been answered and the replica is unreachable or went away:
 * safe to send again elsewhere, predict being idempotent. Timeouts are not among them: a slow replica
 * may still be working on the request, and sending it again would double the load that slowed it.
 */
const CONNECTION_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** How a failed exchange with a replica is handled. */
export type ReplicaFailure = 'connection' | 'timeout' | 'other';

export function classifyFailure(error: unknown): ReplicaFailure {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') return 'other';
  if (CONNECTION_FAILURES.has(code)) return 'connection';
  if (TIMEOUTS.has(code)) return 'timeout';
  return 'other';
}

class Replica {
  outstanding = 0;
  ejectedUntil = 0;
  lastUsed = 0;
  constructor(
    readonly endpoint: string,
    readonly pool: Pool,
  ) {}
}

const REQUEST_HEADERS = { 'content-type': 'application/json' };

/** Collects one answer; an error before its end rejects. */
class Exchange implements Dispatcher.DispatchHandler {
  private status = 0;
  private contentType: string | undefined;
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(
    private readonly replica: Replica,
    private readonly maxBytes: number,
    private readonly resolve: (answer: ReplicaAnswer) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  // undici takes a handler for the current interface only when it has this method.
  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.status = statusCode;
    const type = headers['content-type'];
    this.contentType = Array.isArray(type) ? type[0] : type;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      controller.abort(Object.assign(new Error(`the replica's answer is larger than ${this.maxBytes} bytes`), { code: 'ANSWER_TOO_LARGE' }));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.replica.outstanding--;
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.resolve({ status: this.status, contentType: this.contentType, body });
  }

  onResponseError(_controller: unknown, error: Error): void {
    this.replica.outstanding--;
    this.reject(error);
  }
}

export class ReplicaBalancer {
  private readonly options: ReplicaBalancerOptions;
  private readonly replicas = new Map<string, Replica>();
  /** Rotates the starting point among equally loaded replicas, so ties spread round-robin. */
  private turn = 0;

  constructor(options: Partial<ReplicaBalancerOptions> = {}) {
    this.options = { ...DEFAULT_BALANCER_OPTIONS, ...options };
  }

  private replica(endpoint: string): Replica {
    let replica = this.replicas.get(endpoint);
    if (!replica) {
      const pool = new Pool(endpoint, {
        connections: this.options.connectionsPerReplica,
        pipelining: 1,
        connectTimeout: this.options.connectTimeoutMs,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        // Shorter than the model server's 65 s, so the router, not the replica, closes an idle connection.
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 60_000,
      });
      replica = new Replica(endpoint, pool);
      this.replicas.set(endpoint, replica);
    }
    return replica;
  }

  /**
   * The replica among `endpoints` with the fewest requests outstanding, leaving out `except` and,
   * while others remain, the recently ejected; null when none is left.
   */
  choose(endpoints: readonly string[], except: string | null = null): string | null {
    const n = endpoints.length;
    if (n === 1) return endpoints[0] === except ? null : endpoints[0]!;
    const now = performance.now();
    const start = this.turn++ % n;
    if (this.turn > 1e9) this.turn = 0;
    let best: Replica | null = null;
    let bestEjected = true;
    for (let k = 0; k < n; k++) {
      const endpoint = endpoints[(start + k) % n]!;
      if (endpoint === except) continue;
      const replica = this.replica(endpoint);
      const ejected = replica.ejectedUntil > now;
      if (!best || (bestEjected && !ejected) || (bestEjected === ejected && replica.outstanding < best.outstanding)) {
        best = replica;
        bestEjected = ejected;
      }
    }
    return best?.endpoint ?? null;
  }

  /** Sends a predict body to a replica and reads its whole answer; rejects on any transport failure. */
  send(endpoint: string, path: string, body: Buffer): Promise<ReplicaAnswer> {
    const replica = this.replica(endpoint);
    replica.outstanding++;
    replica.lastUsed = performance.now();
    return new Promise<ReplicaAnswer>((resolve, reject) => {
      const exchange = new Exchange(replica, this.options.maxAnswerBytes, resolve, (error) => {
        if (classifyFailure(error) === 'connection') replica.ejectedUntil = performance.now() + this.options.ejectMs;
        reject(error);
      });
      try {
        replica.pool.dispatch({ origin: endpoint, path, method: 'POST', headers: REQUEST_HEADERS, body }, exchange);
      } catch (error) {
        exchange.onResponseError(null, error as Error);
      }
    });
  }

  /** Closes the pools of replicas not used for `idleMs` (replicas that went away keep no sockets or memory). */
  sweep(idleMs: number): void {
    const cutoff = performance.now() - idleMs;
    for (const [endpoint, replica] of this.replicas) {
      if (replica.outstanding === 0 && replica.lastUsed < cutoff) {
        this.replicas.delete(endpoint);
        void replica.pool.close().catch(() => {});
      }
    }
  }

  /** Requests outstanding on a replica (for tests and diagnostics). */
  outstanding(endpoint: string): number {
    return this.replicas.get(endpoint)?.outstanding ?? 0;
  }

  async close(): Promise<void> {
    const pools = [...this.replicas.values()].map((r) => r.pool);
    this.replicas.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => pool.destroy())));
  }
}
