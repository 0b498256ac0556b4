import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import pino from 'pino';
import { createWorkerServices } from '../src/modelfleet.js';
import { systemActor } from '../src/registry/actor.js';
import { Accumulator } from '../src/stability/accumulator.js';
import { Resolution, type BucketRow, type StabilityStore } from '../src/stability/stabilityStore.js';
import { subjectOf, type StreamMessage } from '../src/stability/streamMessage.js';
import { StreamWorker, type MessageSource, type StreamWorkerStats } from '../src/stability/streamWorker.js';
import { openDatabase, type DatabaseHandle } from '../src/store/database.js';
import { kyselyStabilityStore } from '../src/store/stabilityRepository.js';
import { connectNats, ensureEventStream, type EventStreamSettings } from '../src/stream/eventStream.js';
import { JetStreamSource } from '../src/stream/jetStreamSource.js';
import { forEachDatabase, ManualClock, POSTGRES_URL, seed, TestServer, testDatabases } from './harness.js';
import {
  backlogOf,
  bucketDifferences,
  deleteStream,
  FIXTURE_NOW,
  fixtureFleet,
  fixtureModels,
  fixtureRequests,
  NATS_URL,
  publishAll,
  storedBuckets,
  streamMessagesOf,
  totalCount,
  uniqueStreamSettings,
  waitFor,
  withNatsAndPostgres,
} from './streamWorkerKit.js';

const silent = pino({ level: 'silent' });
const clock = { now: () => new Date() };

function sums(count: number, value: number): BucketRow['sums'] {
  const acc = new Accumulator();
  for (let i = 0; i < count; i++) acc.add(value, i % 2, 1);
  return acc.snapshot();
}

forEachDatabase((db) => {
  describe(`recording stream batches (${db.name})`, () => {
    let handle: DatabaseHandle;
    let store: StabilityStore;
    const url = db.freshUrl();
    before(async () => {
      handle = await openDatabase(url);
      store = kyselyStabilityStore(handle);
    });
    after(async () => {
      await handle.close();
      await db.cleanup(url);
    });

    const minute = Date.UTC(2026, 10, 24, 14, 1);
    const bucket = (task: string, count: number): BucketRow => ({ modelId: 'ig_feed_main_mtml:v1', task, start: minute, sums: sums(count, 0.25) });
    const message = (seq: number, count: number) => ({ seq, minuteBuckets: [bucket('PLIKE', count)], hourBuckets: [{ ...bucket('PLIKE', count), start: minute - (minute % 3_600_000) }] });

    it('adds the sums of sequences not seen before, once, and says which were new', async () => {
      const first = await store.applyStreamBatch({ stream: 'S@1', consumedAt: 1000, messages: [message(1, 2), message(2, 3), message(2, 3)] });
      assert.deepEqual(first.newSeqs, [1, 2], 'a sequence given twice in one batch is one message');
      const again = await store.applyStreamBatch({ stream: 'S@1', consumedAt: 2000, messages: [message(3, 5), message(1, 2)] });
      assert.deepEqual(again.newSeqs, [3]);
      // The same sequence number in a stream created anew is a different message.
      const recreated = await store.applyStreamBatch({ stream: 'S@2', consumedAt: 2000, messages: [message(1, 7)] });
      assert.deepEqual(recreated.newSeqs, [1]);
      const [minuteRow] = await store.buckets('ig_feed_main_mtml:v1', Resolution.minute, minute, minute + 60_000);
      const [hourRow] = await store.buckets('ig_feed_main_mtml:v1', Resolution.hour, 0, Number.MAX_SAFE_INTEGER);
      assert.equal(minuteRow!.sums.count, 2 + 3 + 5 + 7);
      assert.equal(hourRow!.sums.count, 2 + 3 + 5 + 7);
      assert.equal(Accumulator.fromSnapshot(minuteRow!.sums).weightedP, 0.25 * 17);
      assert.deepEqual((await store.applyStreamBatch({ stream: 'S@1', consumedAt: 3000, messages: [] })).newSeqs, []);
    });

    it('forgets consumed sequences with the idempotency keys', async () => {
      const removed = await store.purge(2500 + 24 * 3_600_000, { minuteBucketsMs: 1e15, hourBucketsMs: 1e15, minuteEvaluationsMs: 1e15, hourEvaluationsMs: 1e15, idempotencyKeysMs: 24 * 3_600_000, resolvedAlertsMs: 1e15 });
      assert.equal(removed['streamMessages'], 4, 'the four consumed at 1000 and 2000');
      assert.deepEqual((await store.applyStreamBatch({ stream: 'S@1', consumedAt: 4000, messages: [message(1, 1)] })).newSeqs, [1]);
    });
  });
});

withNatsAndPostgres('stream workers (NATS and PostgreSQL)', () => {
  const postgres = testDatabases.find((d) => d.name === 'postgres')!;

  describe('stream workers (NATS and PostgreSQL)', () => {
    /** The fixture cut into this many requests: every (model, task, minute) bucket gets sums from each. */
    const REQUESTS = 30;
    let reference: TestServer;
    let nc: NatsConnection;
    let messages: StreamMessage[];
    let expectedMinutes: Map<string, BucketRow>;
    let expectedHours: Map<string, BucketRow>;
    const cleanups: Array<() => Promise<unknown>> = [];

    before(async () => {
      // The in-process path: the same requests through IngestionService into a database of its own.
      reference = await TestServer.start(postgres, { clock: new ManualClock(FIXTURE_NOW) });
      await seed(reference, fixtureFleet);
      const requests = fixtureRequests(REQUESTS);
      for (const text of requests) {
        const result = await reference.fleet.ingestion.ingest(systemActor, { format: 'ndjson', text, bytes: Buffer.from(text) }, null);
        assert.equal(result.answer.rejected, 0);
      }
      messages = requests.flatMap((text) => streamMessagesOf(text));
      expectedMinutes = await storedBuckets(reference.fleet.stabilityStore, fixtureModels, Resolution.minute);
      expectedHours = await storedBuckets(reference.fleet.stabilityStore, fixtureModels, Resolution.hour);
      nc = await connectNats(NATS_URL!, 'modelfleet-test');
    });
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
      await nc?.close();
      await reference?.close();
    });

    /** A fresh database and stream; closed and deleted after the suite. */
    async function fresh(overrides: Partial<EventStreamSettings> = {}): Promise<{ store: StabilityStore; settings: EventStreamSettings; url: string }> {
      const url = postgres.freshUrl();
      const handle = await openDatabase(url);
      const settings = uniqueStreamSettings(overrides);
      // The API servers create the stream when they start; here the test publishes in their place.
      await ensureEventStream(nc, settings);
      cleanups.push(async () => {
        await handle.close();
        await postgres.cleanup(url);
        await deleteStream(nc, settings);
      });
      return { store: kyselyStabilityStore(handle), settings, url };
    }

    async function startWorkers(n: number, store: StabilityStore, settings: EventStreamSettings, wrap: (source: MessageSource) => MessageSource = (s) => s): Promise<StreamWorker[]> {
      const workers: StreamWorker[] = [];
      for (let i = 0; i < n; i++) {
        // Small batches and a short flush, so the workers interleave over many transactions.
        const source = wrap(await JetStreamSource.open(nc, { settings, prefetch: 8, logger: silent }));
        const worker = new StreamWorker(source, store, clock, silent, { batch: 7, flushMs: 20, progressMs: 0 });
        void worker.start();
        workers.push(worker);
        cleanups.push(() => worker.stop());
      }
      return workers;
    }

    const summed = (workers: StreamWorker[]): StreamWorkerStats =>
      workers.map((w) => w.stats()).reduce((a, b) => ({ ...a, messages: a.messages + b.messages, events: a.events + b.events, duplicates: a.duplicates + b.duplicates, undecodable: a.undecodable + b.undecodable }));

    async function consumeAll(workers: StreamWorker[], settings: EventStreamSettings, events: number): Promise<void> {
      await waitFor(
        `${events} events consumed`,
        async () => summed(workers).events >= events && (await backlogOf(nc, settings)).messages === 0,
        async () => JSON.stringify({ ...summed(workers), backlog: await backlogOf(nc, settings) }),
      );
      for (const worker of workers) assert.equal(await worker.stop(), true);
    }

    /**
     * The stored values must equal the in-process ones exactly. Each message is one request's sums for
     * one model type; workers merge messages in whatever batches and order they receive them, so the
     * pair (sum, compensation) a bucket ends with may be split differently than in-process, while its
     * value, sum + compensation, must not differ.
     */
    async function assertSameBuckets(store: StabilityStore): Promise<void> {
      const minutes = bucketDifferences(expectedMinutes, await storedBuckets(store, fixtureModels, Resolution.minute));
      const hours = bucketDifferences(expectedHours, await storedBuckets(store, fixtureModels, Resolution.hour));
      assert.deepEqual([...minutes, ...hours], [], `${minutes.length} minute and ${hours.length} hour differences from in-process ingestion`);
      assert.equal(expectedMinutes.size > 20, true, 'the fixture fills many buckets');
    }

    it('with one worker, stores exactly the buckets in-process ingestion does', async () => {
      const { store, settings } = await fresh();
      const events = await publishAll(nc, settings, messages);
      const workers = await startWorkers(1, store, settings);
      await consumeAll(workers, settings, events);
      assert.deepEqual(summed(workers).messages, messages.length);
      await assertSameBuckets(store);
    });

    it('with three workers on one consumer, splits the messages and stores exactly the same buckets', async () => {
      const { store, settings } = await fresh();
      const workers = await startWorkers(3, store, settings);
      // Published while the workers run, so they take messages as they come, in an order nobody chose.
      const events = await publishAll(nc, settings, messages);
      await consumeAll(workers, settings, events);
      const stats = workers.map((w) => w.stats());
      assert.equal(stats.reduce((n, s) => n + s.messages, 0), messages.length);
      assert.equal(stats.filter((s) => s.messages > 0).length, 3, `every worker took a share: ${stats.map((s) => s.messages).join(', ')}`);
      await assertSameBuckets(store);
    });

    it('counts the same content published twice under two ids twice, and a redelivered message once', async () => {
      const { store, settings } = await fresh({ ackWaitMs: 1000 });
      const sample = messages.slice(0, 12);
      const once = sample.reduce((n, m) => n + m.events, 0);
      // Two publishes with different ids are two requests that happen to hold the same sums: both count.
      await publishAll(nc, settings, sample);
      await publishAll(nc, settings, sample);
      // This worker stores its batches but its acknowledgements never reach NATS, as if it died right
      // after each commit: after the ack wait every message is delivered again.
      const lost = await startWorkers(1, store, settings, (source) => ({
        stream: source.stream,
        stop: () => source.stop(),
        fetch: async (max, waitMs) => (await source.fetch(max, waitMs)).map((m) => ({ ...m, ack: () => {} })),
      }));
      await waitFor('the first delivery stored', async () => lost[0]!.stats().messages === 2 * sample.length, async () => JSON.stringify(lost[0]!.stats()));
      await lost[0]!.stop();
      assert.equal(await totalCount(store, fixtureModels), 2 * once);
      const redelivered = await startWorkers(1, store, settings);
      await waitFor('the redeliveries dropped', async () => (await backlogOf(nc, settings)).messages === 0, async () => JSON.stringify(redelivered[0]!.stats()));
      await redelivered[0]!.stop();
      const stats = redelivered[0]!.stats();
      assert.equal(stats.duplicates, 2 * sample.length, 'every redelivered message was found consumed');
      assert.equal(stats.messages, 0);
      assert.equal(await totalCount(store, fixtureModels), 2 * once, 'nothing counted twice');
    });

    it('leaves a batch it cannot store unacknowledged, for another worker to count', async () => {
      const { store, settings } = await fresh({ ackWaitMs: 1000 });
      const sample = messages.slice(0, 5);
      const events = await publishAll(nc, settings, sample);
      // A database that is gone: every write fails.
      const goneUrl = postgres.freshUrl();
      const closed = await openDatabase(goneUrl);
      await closed.close();
      cleanups.push(() => postgres.cleanup(goneUrl));
      const source = await JetStreamSource.open(nc, { settings, prefetch: 8, logger: silent });
      const failing = new StreamWorker(source, kyselyStabilityStore(closed), clock, silent, { batch: 7, flushMs: 20, progressMs: 0, retryMs: 20, stopTimeoutMs: 200 });
      void failing.start();
      await waitFor('a failed flush', async () => failing.stats().failedFlushes > 1);
      assert.equal(await failing.stop(), false, 'stop says the batch was not stored');
      assert.equal(failing.stats().messages, 0);
      const workers = await startWorkers(1, store, settings);
      await consumeAll(workers, settings, events);
      assert.equal(workers[0]!.stats().messages, sample.length, 'delivered again after the ack wait, counted once');
      assert.equal(await totalCount(store, fixtureModels), events);
    });

    it('terminates a message that does not decode, counts it, and goes on', async () => {
      const { store, settings } = await fresh();
      const js = jetstream(nc);
      await js.publish(subjectOf('ig_feed_main_mtml', settings.subjectPrefix), new TextEncoder().encode('{"v":1,"not":"a message"}'));
      const events = await publishAll(nc, settings, messages.slice(0, 3));
      const workers = await startWorkers(1, store, settings);
      await consumeAll(workers, settings, events);
      assert.equal(workers[0]!.stats().undecodable, 1);
      assert.equal((await backlogOf(nc, settings)).messages, 0, 'the bad message is gone from the stream, not waiting to be delivered again');
      assert.equal(await totalCount(store, fixtureModels), events);
    });

    it('lets exactly one worker evaluate, and another take over when it stops or loses its session', async () => {
      const url = postgres.freshUrl();
      cleanups.push(() => postgres.cleanup(url));
      const manual = new ManualClock(FIXTURE_NOW);
      const tick = async (w: { monitor: { tick(): Promise<{ leader: boolean }> } }) => {
        manual.advance(60_000);
        return (await w.monitor.tick()).leader;
      };
      const services: Awaited<ReturnType<typeof createWorkerServices>>[] = [];
      // One after another: the first creates the schema and its tables.
      for (let i = 0; i < 3; i++) services.push(await createWorkerServices({ db: url, clock: manual, logger: silent }));
      cleanups.push(() => Promise.all(services.map((s) => s.close())));
      const first = [await tick(services[0]!), await tick(services[1]!), await tick(services[2]!)];
      assert.deepEqual(first, [true, false, false]);
      assert.deepEqual([await tick(services[1]!), await tick(services[0]!)], [false, true], 'the leader keeps leading');

      // A clean stop releases the lock: a follower takes over at its next tick.
      await services[0]!.monitor.stop();
      assert.equal(await tick(services[1]!), true);
      assert.equal(await tick(services[2]!), false);

      // A leader whose session dies (its process killed, its network gone) loses the lock with it.
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      try {
        const schema = new URL(url).searchParams.get('schema');
        const killed = await admin.query(
          `select pg_terminate_backend(a.pid) from pg_stat_activity a
            where a.application_name = $1 and exists (select 1 from pg_locks l where l.pid = a.pid and l.locktype = 'advisory' and l.granted)`,
          [`modelfleet leader stability.monitor ${schema}`],
        );
        assert.equal(killed.rowCount, 1, 'one session holds the lock');
      } finally {
        await admin.end();
      }
      await waitFor('the third worker to take over', () => tick(services[2]!));
      assert.equal(await tick(services[1]!), false, 'the old leader knows it no longer leads');
    });
  });
});
