import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { EVENT_SUBJECT_PREFIX } from '../stability/streamMessage.js';

export interface EventStreamSettings {
  /** The JetStream stream that carries accepted labeled predictions from API servers to workers. */
  stream: string;
  /** Its subjects are `<prefix>.<model type>`. */
  subjectPrefix: string;
  /** The durable pull consumer every worker shares: each message goes to one of them. */
  consumer: string;
  /** Publishes with the same message id within this window are stored once (retried requests). Default 10 min. */
  duplicateWindowMs: number;
  /** A message not acknowledged within this is delivered again (its worker died). Default 30 s. */
  ackWaitMs: number;
  /** Messages delivered and not yet acknowledged, across all workers. Default 10,000. */
  maxAckPending: number;
}

export const DEFAULT_EVENT_STREAM: EventStreamSettings = { stream: 'MODELFLEET_EVENTS', subjectPrefix: EVENT_SUBJECT_PREFIX, consumer: 'stability-workers', duplicateWindowMs: 10 * 60_000, ackWaitMs: 30_000, maxAckPending: 10_000 };

const nanos = (ms: number) => ms * 1_000_000;

/** Connects to NATS with reconnects forever: a NATS restart pauses publishing and consuming, nothing more. */
export function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({ servers: url.split(','), name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
}

/**
 * Creates (or updates) the stream and the workers' consumer. A work queue: a message is kept on disk
 * until a worker acknowledges it, then removed; a full stream refuses new messages rather than drop old ones.
 */
export async function ensureEventStream(nc: NatsConnection, settings: EventStreamSettings = DEFAULT_EVENT_STREAM): Promise<JetStreamManager> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: settings.stream,
    subjects: [`${settings.subjectPrefix}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    duplicate_window: nanos(settings.duplicateWindowMs),
  };
  try {
    await jsm.streams.info(settings.stream);
    await jsm.streams.update(settings.stream, config);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.streams.add(config);
  }
  const consumer = { durable_name: settings.consumer, ack_policy: AckPolicy.Explicit, ack_wait: nanos(settings.ackWaitMs), max_ack_pending: settings.maxAckPending };
  try {
    await jsm.consumers.info(settings.stream, settings.consumer);
    await jsm.consumers.update(settings.stream, settings.consumer, { ack_wait: consumer.ack_wait, max_ack_pending: consumer.max_ack_pending });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.consumers.add(settings.stream, consumer);
  }
  return jsm;
}

function isNotFound(error: unknown): boolean {
  const e = error as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10059 || e?.api_error?.err_code === 10014 || /not found/i.test(String(e?.message ?? ''));
}
