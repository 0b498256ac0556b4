import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A test server whose capacity is known exactly, to check a capacity estimate against the truth:
 * `slots` requests are served at once, each for `serviceTimeMs`, and the excess waits in one FIFO
 * queue. True capacity = slots / service time. Used by the tests and the benchmark.
 */
export interface KnownCapacityServerOptions {
  slots: number;
  serviceTimeMs: number;
  /**
   * Error mode: admit at most this many requests per second (a token bucket holding a twentieth of a
   * second's worth, enough for a client's timer jitter) and answer the excess 503 at once, as a server
   * that sheds load does.
   */
  failAboveQps?: number | null;
  host?: string;
  port?: number;
}

export interface KnownCapacityStats {
  received: number;
  served: number;
  /** Answered 503 by the error mode. */
  rejected: number;
  /** Left the queue before their turn (the client gave up). */
  abandoned: number;
  maxQueue: number;
}

export interface KnownCapacityServer {
  url: string;
  /** slots x 1000 / service time: the most requests per second it can serve. */
  capacityQps: number;
  stats(): KnownCapacityStats;
  close(): Promise<void>;
}

interface Waiting {
  res: ServerResponse;
  arrived: number;
}

/**
 * Starts the server (on an ephemeral port by default). Any method and path is accepted; the body is
 * read and discarded, and the answer is a small JSON document.
 *
 * Service is scheduled on each slot's own timeline, not on when timers fire: a slot that frees at
 * time t starts its next request at t, so timer lateness cannot lower the capacity below the
 * nominal one.
 */
export async function startKnownCapacityServer(options: KnownCapacityServerOptions): Promise<KnownCapacityServer> {
  const { slots, serviceTimeMs } = options;
  if (!(Number.isInteger(slots) && slots > 0)) throw new Error(`slots must be a positive whole number, not ${slots}`);
  if (!(serviceTimeMs > 0)) throw new Error(`serviceTimeMs must be positive, not ${serviceTimeMs}`);
  const stats: KnownCapacityStats = { received: 0, served: 0, rejected: 0, abandoned: 0, maxQueue: 0 };
  const queue: Waiting[] = [];
  let head = 0;
  let busy = 0;

  const failAbove = options.failAboveQps ?? null;
  const burst = failAbove === null ? 0 : Math.max(1, failAbove / 20);
  let tokens = burst;
  let refilledAt = performance.now();
  const admit = (now: number): boolean => {
    if (failAbove === null) return true;
    tokens = Math.min(burst, tokens + ((now - refilledAt) * failAbove) / 1000);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  const answer = (res: ServerResponse, status: number, body: object) => {
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  /** Serves `res` on a slot from `start` (its nominal start), then hands the slot to the next waiting request. */
  const serve = (res: ServerResponse, start: number) => {
    const finish = start + serviceTimeMs;
    setTimeout(() => {
      stats.served += 1;
      answer(res, 200, { ok: true });
      next(finish);
    }, Math.max(0, finish - performance.now()));
  };

  const next = (freedAt: number) => {
    while (head < queue.length) {
      const waiting = queue[head]!;
      queue[head++] = undefined as unknown as Waiting;
      if (waiting.res.destroyed || !waiting.res.socket || waiting.res.socket.destroyed) {
        stats.abandoned += 1;
        continue;
      }
      serve(waiting.res, Math.max(freedAt, waiting.arrived));
      compact();
      return;
    }
    busy -= 1;
    compact();
  };

  const compact = () => {
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const now = performance.now();
      stats.received += 1;
      if (!admit(now)) {
        stats.rejected += 1;
        answer(res, 503, { error: { code: 'overloaded', message: `more than ${failAbove} requests per second` } });
        return;
      }
      if (busy < slots) {
        busy += 1;
        serve(res, now);
        return;
      }
      queue.push({ res, arrived: now });
      stats.maxQueue = Math.max(stats.maxQueue, queue.length - head);
    });
  };

  const server = createServer(onRequest);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    capacityQps: (slots * 1000) / serviceTimeMs,
    stats: () => ({ ...stats }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
