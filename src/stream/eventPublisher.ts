import { createHash, randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Counter, Gauge, type Registry } from 'prom-client';
import { unavailable } from '../core/errors.js';
import type { StreamPublisher } from '../stability/ingestion.js';
import { encodeStreamMessage, subjectOf, type StreamMessage } from '../stability/streamMessage.js';
import { connectNats, DEFAULT_EVENT_STREAM, ensureEventStream, type EventStreamSettings } from './eventStream.js';

/** Workers' backlog above which ingestion refuses requests with 503 and Retry-After. */
export const DEFAULT_MAX_PENDING = 50_000;

/** How an API server publishes: the stream's names (defaults: `DEFAULT_EVENT_STREAM`), the backlog limit, the metrics. */
export interface EventPublisherOptions {
  settings?: Partial<EventStreamSettings>;
  /** Messages waiting for the workers (pending + delivered, unacknowledged) above which requests are refused. Default 50,000. */
  maxPending?: number;
  /** Where the publish counters and the backlog gauge are registered (the server's /metrics). */
  metrics: Registry;
}

/** Longest wait for the stream's acknowledgement of a publish, or for a backlog read: well inside a client's patience. */
const TIMEOUT_MS = 5000;

/** How long one read of the consumer's backlog is reused, so a busy server asks NATS at most once a second. */
const BACKLOG_CACHE_MS = 1000;

/** Seconds a client is asked to wait when NATS is unreachable: reconnects are tried every half second. */
const UNREACHABLE_RETRY_SECONDS = 2;

/**
 * Publishes accepted sums to the JetStream event stream for the workers to aggregate, and refuses
 * new requests (503, Retry-After) while the workers' backlog is over the limit or NATS is unreachable.
 * The stream acknowledges a message only once stored, so an answered request is never lost. Refusing
 * at the door while the workers are behind keeps their backlog bounded, and tells clients to back off
 * (they retry, keeping their events) instead of piling up work no worker will reach for hours.
 */
export class EventPublisher implements StreamPublisher {
  private readonly js: JetStreamClient;
  private readonly settings: EventStreamSettings;
  private readonly maxPending: number;
  private connected = true;
  private lastBacklog: { value: number; at: number } | null = null;
  private backlogRead: Promise<number> | null = null;
  private readonly published: Counter<'duplicate'>;
  private readonly refused: Counter<'reason'>;
  private readonly backlogGauge: Gauge;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    options: EventPublisherOptions,
  ) {
    this.settings = { ...DEFAULT_EVENT_STREAM, ...options.settings };
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    this.js = jetstream(nc, { timeout: TIMEOUT_MS });
    this.published = new Counter({
      name: 'modelfleet_ingest_stream_messages_total',
      help: 'Messages (one per request and model type) the event stream acknowledged, by whether it dropped one as a duplicate of a retried request',
      labelNames: ['duplicate'],
      registers: [options.metrics],
    });
    this.refused = new Counter({
      name: 'modelfleet_ingest_refused_requests_total',
      help: 'Ingestion requests answered 503 because the workers were behind (backlog) or the event stream was unreachable',
      labelNames: ['reason'],
      registers: [options.metrics],
    });
    this.backlogGauge = new Gauge({
      name: 'modelfleet_ingest_stream_backlog_messages',
      help: "The workers' backlog when last read: messages not yet delivered plus delivered and not yet acknowledged",
      registers: [options.metrics],
    });
    void this.watchConnection();
  }

  /**
   * Connects to NATS at `url` (comma-separated for a cluster), creates or updates the stream and the
   * workers' consumer, and returns a publisher. Fails at once when NATS cannot be reached.
   */
  static async start(url: string, options: EventPublisherOptions): Promise<EventPublisher> {
    const settings = { ...DEFAULT_EVENT_STREAM, ...options.settings };
    let nc: NatsConnection;
    try {
      nc = await connectNats(url, 'modelfleet-api');
    } catch (error) {
      throw new Error(`cannot connect to NATS at ${url}: ${(error as Error).message}; start nats-server with JetStream (-js) there, or fix --nats / MODELFLEET_NATS`);
    }
    try {
      await ensureEventStream(nc, settings);
      // Its own manager, so a backlog read gives up after TIMEOUT_MS rather than the connection's 20 s default.
      const jsm = await jetstreamManager(nc, { timeout: TIMEOUT_MS });
      return new EventPublisher(nc, jsm, { ...options, settings });
    } catch (error) {
      await nc.close();
      throw new Error(`cannot set up the event stream '${settings.stream}' on NATS at ${url}: ${(error as Error).message}; is JetStream enabled (nats-server -js)?`);
    }
  }

  async admit(): Promise<void> {
    if (!this.connected || this.nc.isClosed()) {
      this.refused.inc({ reason: 'unreachable' });
      throw unavailable(`the event stream is unreachable (NATS at ${this.nc.getServer()} is down or restarting): nothing was stored; retry in ${UNREACHABLE_RETRY_SECONDS} s`, UNREACHABLE_RETRY_SECONDS);
    }
    let backlog: number;
    try {
      backlog = await this.backlog();
    } catch (error) {
      this.refused.inc({ reason: 'unreachable' });
      throw unavailable(`cannot read the workers' backlog on the event stream (${(error as Error).message}): nothing was stored; retry in ${UNREACHABLE_RETRY_SECONDS} s`, UNREACHABLE_RETRY_SECONDS);
    }
    if (backlog > this.maxPending) {
      this.refused.inc({ reason: 'backlog' });
      // One second just over the limit, up to five at 50% over: the further behind, the longer the wait.
      const seconds = Math.min(5, Math.max(1, Math.ceil(((backlog - this.maxPending) / this.maxPending) * 10)));
      throw unavailable(
        `the stability workers are behind: ${backlog} messages wait on stream '${this.settings.stream}' (limit ${this.maxPending}); nothing was stored; retry in ${seconds} s, or add workers`,
        seconds,
      );
    }
  }

  async publish(messages: readonly StreamMessage[], dedupeKey: string | null): Promise<void> {
    const subjectPrefix = this.settings.subjectPrefix;
    // Every publish is awaited, failed or not, so none is still in flight when the caller rolls back and answers.
    const results = await Promise.allSettled(
      messages.map((message) =>
        this.js.publish(subjectOf(message.modelType, subjectPrefix), encodeStreamMessage(message), {
          msgID: dedupeKey === null ? randomUUID() : messageId(dedupeKey, message.modelType),
          // A stream of another name capturing these subjects would take messages our workers never see.
          expect: { streamName: this.settings.stream },
          timeout: TIMEOUT_MS,
        }),
      ),
    );
    for (const result of results) if (result.status === 'fulfilled') this.published.inc({ duplicate: String(result.value.duplicate) });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      this.refused.inc({ reason: 'unreachable' });
      throw unavailable(
        `the event stream did not acknowledge the events (${(failed.reason as Error).message}): the request was not accepted; retry in ${UNREACHABLE_RETRY_SECONDS} s with the same Idempotency-Key so it counts once`,
        UNREACHABLE_RETRY_SECONDS,
      );
    }
  }

  /** Closes the NATS connection; call after the HTTP server stopped taking requests. */
  async close(): Promise<void> {
    await this.nc.close();
  }

  /** The consumer's backlog, read from NATS at most once per BACKLOG_CACHE_MS; concurrent callers share one read. */
  private async backlog(): Promise<number> {
    const cached = this.lastBacklog;
    if (cached && performance.now() - cached.at < BACKLOG_CACHE_MS) return cached.value;
    return (this.backlogRead ??= this.readBacklog().finally(() => {
      this.backlogRead = null;
    }));
  }

  private async readBacklog(): Promise<number> {
    const info = await this.jsm.consumers.info(this.settings.stream, this.settings.consumer);
    const value = info.num_pending + info.num_ack_pending;
    this.lastBacklog = { value, at: performance.now() };
    this.backlogGauge.set(value);
    return value;
  }

  /** Follows the connection's state, so requests are refused at once while NATS is away instead of waiting out a timeout. */
  private async watchConnection(): Promise<void> {
    try {
      for await (const status of this.nc.status()) {
        if (status.type === 'disconnect') this.connected = false;
        else if (status.type === 'reconnect') this.connected = true;
      }
    } catch {
      // The status stream ends with the connection; `isClosed()` covers what follows.
    }
  }
}

/** The same request (token, key, body) and model type always give the same id: the stream stores it once. */
function messageId(dedupeKey: string, modelType: string): string {
  return createHash('sha256').update(`${dedupeKey}\u0000${modelType}`).digest('base64url');
}
