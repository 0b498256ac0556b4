import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventBatch, type IngestCatalog } from '../src/stability/eventBatch.js';
import { Resolution, type BucketRow, type StabilityStore } from '../src/stability/stabilityStore.js';
import { encodeStreamMessage, messagesOf, subjectOf, type StreamMessage } from '../src/stability/streamMessage.js';
import { DEFAULT_EVENT_STREAM, type EventStreamSettings } from '../src/stream/eventStream.js';
import { POSTGRES_URL } from './harness.js';
import { fixtureFleet, fixtureLines, FIXTURE_NOW } from './stabilityFixture.js';

/** The NATS server the stream tests use; they are skipped visibly without it (and without PostgreSQL). */
export const NATS_URL = process.env['MODELFLEET_TEST_NATS_URL'];

/** Runs `body` when NATS and PostgreSQL are both configured; otherwise one skipped test says what to set. */
export function withNatsAndPostgres(name: string, body: () => void): void {
  if (!NATS_URL || !POSTGRES_URL) {
    test(name, { skip: 'MODELFLEET_TEST_NATS_URL and MODELFLEET_TEST_POSTGRES_URL must both be set to run this suite' }, () => {});
    return;
  }
  body();
}

/** Stream, subjects and consumer of one test run, so test files running side by side on one NATS never meet. */
export function uniqueStreamSettings(overrides: Partial<EventStreamSettings> = {}): EventStreamSettings {
  const id = randomBytes(5).toString('hex');
  return { ...DEFAULT_EVENT_STREAM, stream: `MF_TEST_${id}`, subjectPrefix: `mftest.${id}.events`, consumer: `workers_${id}`, ...overrides };
}

export async function deleteStream(nc: NatsConnection, settings: EventStreamSettings): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(settings.stream).catch(() => false);
}

/** Messages not yet delivered plus delivered and not acknowledged, on the workers' consumer. */
export async function backlogOf(nc: NatsConnection, settings: EventStreamSettings): Promise<{ pending: number; ackPending: number; messages: number }> {
  const jsm = await jetstreamManager(nc);
  const consumer = await jsm.consumers.info(settings.stream, settings.consumer);
  const stream = await jsm.streams.info(settings.stream);
  return { pending: consumer.num_pending, ackPending: consumer.num_ack_pending, messages: stream.state.messages };
}

export { fixtureFleet, fixtureLines, FIXTURE_NOW };

export const fixtureModels = fixtureFleet.models.map((m) => m.id);

/**
 * The fixture cut into `n` NDJSON request bodies (event j goes to body j mod n), so every bucket gets
 * sums from many requests; with `shiftMs` (whole hours), every event is stamped that much later.
 */
export function fixtureRequests(n: number, shiftMs = 0): string[] {
  const lines = shiftMs === 0 ? fixtureLines : fixtureLines.map((line) => {
    const event = JSON.parse(line) as { ts: number };
    return JSON.stringify({ ...event, ts: event.ts + shiftMs });
  });
  return Array.from({ length: n }, (_, i) => `${lines.filter((_, j) => j % n === i).join('\n')}\n`);
}

/** The fixture's models as ingestion checks them, without a registry: `fixtureFleet` registered. */
const fixtureCatalog: IngestCatalog = {
  model(id) {
    const type = fixtureFleet.modelTypes.find((t) => t.name === id.split(':')[0]);
    return type && fixtureModels.includes(id) ? { tasks: new Set(type.tasks.map((t) => t.name)), team: type.ownerTeam } : undefined;
  },
};

/** What the API server would publish for one request body of fixture events: its accepted sums, one message per model type. */
export function streamMessagesOf(body: string, now = FIXTURE_NOW): StreamMessage[] {
  const batch = new EventBatch(fixtureCatalog, { now, latenessMs: 3_600_000, futureMs: 300_000, mayIngest: () => true });
  batch.addNdjson(body);
  assert.equal(batch.rejected, 0, JSON.stringify(batch.errors.slice(0, 3)));
  const minuteBuckets = [...batch.buckets.values()].map((b) => ({ modelId: b.modelId, task: b.task, start: b.minute, sums: b.acc.snapshot() }));
  return messagesOf(minuteBuckets, (id) => id.split(':')[0]!, now);
}

/**
 * Publishes messages as the API server does, each under its own message id; returns how many events
 * they carry. A publish that fails (NATS restarting) is retried under the same id, so one whose
 * acknowledgement was lost is stored once.
 */
export async function publishAll(nc: NatsConnection, settings: EventStreamSettings, messages: readonly StreamMessage[]): Promise<number> {
  const js = jetstream(nc);
  let events = 0;
  for (const message of messages) {
    const msgID = randomBytes(8).toString('hex');
    const deadline = Date.now() + 20_000;
    for (let attempt = 0; ; attempt++) {
      try {
        const ack = await js.publish(subjectOf(message.modelType, settings.subjectPrefix), encodeStreamMessage(message), { msgID });
        if (attempt === 0) assert.equal(ack.duplicate, false);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    events += message.events;
  }
  return events;
}

/** Every stored bucket of the models at one resolution, keyed by model, task and start. */
export async function storedBuckets(store: StabilityStore, models: readonly string[], resolution: Resolution): Promise<Map<string, BucketRow>> {
  const out = new Map<string, BucketRow>();
  for (const model of models) {
    for (const row of await store.buckets(model, resolution, 0, Number.MAX_SAFE_INTEGER)) out.set(`${row.modelId} ${row.task} ${row.start}`, row);
  }
  return out;
}

export async function totalCount(store: StabilityStore, models: readonly string[]): Promise<number> {
  let total = 0;
  for (const row of (await storedBuckets(store, models, Resolution.minute)).values()) total += row.sums.count;
  return total;
}

const SUMS = ['weight', 'positives', 'weightedP', 'weightedLogLoss'] as const;

/**
 * Compares two stores' buckets: the same keys, the same counts, and the same value (sum +
 * compensation) of every compensated sum, with ===. Returns the differences found (empty when they
 * agree), each with its relative size, so a failure says how far apart they are.
 */
export function bucketDifferences(expected: Map<string, BucketRow>, actual: Map<string, BucketRow>): string[] {
  const differences: string[] = [];
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const e = expected.get(key);
    const a = actual.get(key);
    if (!e || !a) {
      differences.push(`${key}: ${e ? 'missing' : 'unexpected'}`);
      continue;
    }
    if (e.sums.count !== a.sums.count) differences.push(`${key} count: ${a.sums.count} vs ${e.sums.count}`);
    for (const sum of SUMS) {
      const ev = e.sums[sum][0] + e.sums[sum][1];
      const av = a.sums[sum][0] + a.sums[sum][1];
      if (ev !== av) differences.push(`${key} ${sum}: ${av} vs ${ev} (relative ${Math.abs(av - ev) / Math.abs(ev)})`);
    }
  }
  return differences;
}

/** Polls `check` until it returns true; fails with `what` (and the last state `describe` gives) after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, describe: () => Promise<string> = async () => '', timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A check that throws (its server restarting) has simply not succeeded yet.
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${await describe().catch((e: Error) => e.message)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
