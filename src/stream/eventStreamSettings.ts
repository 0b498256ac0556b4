import { EVENT_SUBJECT_PREFIX } from '../stability/streamMessage.js';

/** Names and limits of the event stream: free of the NATS client, so commands that only name them load fast. */
export interface EventStreamSettings {
  /** The JetStream stream that carries accepted labeled predictions from API servers to workers. */
  stream: string;
  /** Its subjects are `<prefix>.<model type>`. */
  subjectPrefix: string;
  /** The durable pull consumer every worker shares: each message goes to one of them. */
  consumer: string;
  /** Publishes with the same message id within this window are stored once (retried requests). Default 10 min. */
  duplicateWindowMs: number;
  /** Copies of each message across a NATS cluster (1, or 3 for a cluster of three). Default 1. */
  replicas: number;
  /** A message not acknowledged within this is delivered again (its worker died). Default 30 s. */
  ackWaitMs: number;
  /** Messages delivered and not yet acknowledged, across all workers. Default 10,000. */
  maxAckPending: number;
}

export const DEFAULT_EVENT_STREAM: EventStreamSettings = { stream: 'MODELFLEET_EVENTS', subjectPrefix: EVENT_SUBJECT_PREFIX, consumer: 'stability-workers', replicas: 1, duplicateWindowMs: 10 * 60_000, ackWaitMs: 30_000, maxAckPending: 10_000 };
