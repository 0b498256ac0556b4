import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { DEFAULT_EVENT_STREAM, type EventStreamSettings } from './eventStreamSettings.js';

export { DEFAULT_EVENT_STREAM, type EventStreamSettings } from './eventStreamSettings.js';

const nanos = (ms: number) => ms * 1_000_000;

/** Connects to NATS with reconnects forever: a NATS restart pauses publishing and consuming, nothing more. */
export function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({ servers: url.split(','), name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
}

/**
 * Creates the stream and the workers' consumer when missing. A work queue: a message is kept on disk
 * until a worker acknowledges it, then removed; a full stream refuses new messages rather than drop old
 * ones. With `configure` (the servers, which own the settings) an existing stream and consumer are
 * updated to `settings`; without it (workers) they are left as they are, so a worker started with
 * defaults never undoes what the servers set.
 */
export async function ensureEventStream(nc: NatsConnection, settings: EventStreamSettings = DEFAULT_EVENT_STREAM, options: { configure: boolean } = { configure: true }): Promise<JetStreamManager> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: settings.stream,
    subjects: [`${settings.subjectPrefix}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    duplicate_window: nanos(settings.duplicateWindowMs),
    num_replicas: settings.replicas,
  };
  try {
    await jsm.streams.info(settings.stream);
    if (options.configure) await jsm.streams.update(settings.stream, config);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.streams.add(config);
  }
  const consumer = { durable_name: settings.consumer, ack_policy: AckPolicy.Explicit, ack_wait: nanos(settings.ackWaitMs), max_ack_pending: settings.maxAckPending };
  try {
    await jsm.consumers.info(settings.stream, settings.consumer);
    if (options.configure) await jsm.consumers.update(settings.stream, settings.consumer, { ack_wait: consumer.ack_wait, max_ack_pending: consumer.max_ack_pending });
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
