import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { MessageSource, SourcedMessage } from '../stability/streamWorker.js';
import { DEFAULT_EVENT_STREAM, ensureEventStream, type EventStreamSettings } from './eventStream.js';

const TIMEOUT = Symbol('timeout');

/** Wait before consuming again after the consumer's message feed failed or could not start. */
const RESUBSCRIBE_MS = 1_000;

/**
 * A worker's share of the event stream: the shared durable pull consumer, read continuously (the
 * client keeps up to `prefetch` messages requested ahead, and asks for more only as they are taken),
 * so every worker on the consumer gets different messages. NATS restarts are absorbed by the
 * connection's reconnects and the consumer's own re-pulls.
 */
export class JetStreamSource implements MessageSource {
  private messages: ConsumerMessages | null = null;
  private iterator: AsyncIterator<JsMsg> | null = null;
  /** A `next()` a fetch stopped waiting for: the following fetch takes it up, so no message is skipped. */
  private pending: Promise<IteratorResult<JsMsg>> | null = null;
  private stopped = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly settings: EventStreamSettings,
    readonly stream: string,
    private readonly prefetch: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Creates (or updates) the stream and consumer, then starts consuming. `prefetch` is how many
   * messages this worker holds ahead of processing; about one batch keeps the next batch ready while
   * the current one is written.
   */
  static async open(nc: NatsConnection, options: { settings?: Partial<EventStreamSettings>; prefetch: number; logger: Logger }): Promise<JetStreamSource> {
    const settings = { ...DEFAULT_EVENT_STREAM, ...options.settings };
    const jsm = await ensureEventStream(nc, settings, { configure: false });
    const info = await jsm.streams.info(settings.stream);
    // Sequences start over in a stream created anew under the same name: its creation time tells them apart.
    const source = new JetStreamSource(nc, settings, `${settings.stream}@${info.created}`, options.prefetch, options.logger);
    await source.subscribe();
    return source;
  }

  async fetch(max: number, waitMs: number): Promise<SourcedMessage[]> {
    const out: SourcedMessage[] = [];
    const deadline = Date.now() + waitMs;
    while (out.length < max) {
      const next = await this.next(deadline - Date.now());
      if (next === TIMEOUT || next === null) break;
      out.push(sourced(next, this.logger));
    }
    return out;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // No more pulls; messages already received still come out of the iterator until it ends.
    await this.messages?.close().catch(() => {});
  }

  /** The next message, TIMEOUT after `ms`, or null once stopped and drained. */
  private async next(ms: number): Promise<JsMsg | typeof TIMEOUT | null> {
    if (!this.iterator) {
      if (this.stopped) return null;
      try {
        await this.subscribe();
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'cannot consume the event stream yet; trying again');
        await new Promise((resolve) => setTimeout(resolve, Math.min(RESUBSCRIBE_MS, Math.max(0, ms))));
        return TIMEOUT;
      }
    }
    if (!this.pending) {
      this.pending = this.iterator!.next();
      // Observed later (or never, once stopped); keeps a rejection from counting as unhandled meanwhile.
      this.pending.catch(() => {});
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([this.pending, new Promise<typeof TIMEOUT>((resolve) => (timer = setTimeout(() => resolve(TIMEOUT), Math.max(0, ms))))]);
      if (result === TIMEOUT) return TIMEOUT;
      this.pending = null;
      if (!result.done) return result.value;
    } catch (error) {
      this.pending = null;
      if (!this.stopped) this.logger.warn({ err: (error as Error).message }, 'event stream consumer failed; consuming again');
    } finally {
      clearTimeout(timer);
    }
    this.iterator = null;
    if (this.stopped) return null;
    // The feed ended without stop(): the consumer was deleted or NATS gave up on it. Wait, then re-subscribe.
    await new Promise((resolve) => setTimeout(resolve, Math.min(RESUBSCRIBE_MS, Math.max(0, ms))));
    return TIMEOUT;
  }

  private async subscribe(): Promise<void> {
    const consumer = await jetstream(this.nc).consumers.get(this.settings.stream, this.settings.consumer);
    this.messages = await consumer.consume({ max_messages: this.prefetch });
    this.iterator = this.messages[Symbol.asyncIterator]();
  }
}

function sourced(msg: JsMsg, logger: Logger): SourcedMessage {
  const settle = (what: string, act: () => void) => {
    try {
      act();
    } catch (error) {
      // Closed connection: the message is redelivered after the ack wait, and recognised as consumed then.
      logger.warn({ seq: msg.seq, err: (error as Error).message }, `could not ${what} a stream message`);
    }
  };
  return {
    seq: msg.seq,
    data: msg.data,
    backlog: msg.info.pending,
    ack: () => settle('acknowledge', () => msg.ack()),
    // No reason text: servers before 2.11 do not take one.
    term: () => settle('terminate', () => msg.term()),
  };
}
