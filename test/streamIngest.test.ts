import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { AccumulatorSnapshot } from '../src/stability/accumulator.js';
import { Resolution } from '../src/stability/stabilityStore.js';
import { decodeStreamMessage, type StreamMessage } from '../src/stability/streamMessage.js';
import { DEFAULT_EVENT_STREAM, type EventStreamSettings } from '../src/stream/eventStream.js';
import { PrivateNats } from './privateNats.js';
import { fixtureFleet, fixtureLines, FIXTURE_NOW } from './stabilityFixture.js';
import { ADMIN_TOKEN, forEachDatabase, ManualClock, seed, TestServer, testDatabases } from './harness.js';

const NATS_URL = process.env['MODELFLEET_TEST_NATS_URL'];

/** A span holding every minute bucket of the fixture. */
const FROM = FIXTURE_NOW - 3_600_000;
const TO = FIXTURE_NOW + 3_600_000;

const TYPES = fixtureFleet.modelTypes.length;
const MODELS = fixtureFleet.models.map((m) => m.id);

/** The whole fixture with bad lines mixed in, so the answers' line errors are compared too. */
const mixedBody =
  [
    ...fixtureLines.slice(0, 5000),
    '{"model": "ig_nope_mtml:v1", "task": "PLIKE", "p": 0.5, "y": 1, "ts": 1764064811873}',
    '{"model": "ig_feed_main_mtml:v3", "task": "PLIKE", "p": 1.5, "y": 1, "ts": 1764064811873}',
    '{"model": "ig_feed_main_mtml:v3", "task": "PLIKE", "p": 0.5, "y": 1, "ts": 1700000000000}',
    'not json',
    ...fixtureLines.slice(5000),
  ].join('\n') + '\n';
/** One model type's events: each request is one message on the stream. */
const feedLines = fixtureLines.filter((l) => l.includes('"ig_feed_main_mtml:v3"'));
const feedBody = (n: number) => feedLines.slice(n * 100, n * 100 + 100).join('\n') + '\n';

/** Stream, subjects and consumer of one test server: the shared NATS serves other test files at once. */
function uniqueSettings(): EventStreamSettings {
  const id = randomBytes(5).toString('hex');
  return { ...DEFAULT_EVENT_STREAM, stream: `MF_TEST_${id}`, subjectPrefix: `mftest.${id}.events`, consumer: `workers-${id}` };
}

/** A look at one stream from outside the server: its message count, and its messages taken as a worker would. */
class StreamProbe {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly settings: EventStreamSettings,
  ) {}

  static async open(url: string, settings: EventStreamSettings): Promise<StreamProbe> {
    const nc = await connect({ servers: url });
    return new StreamProbe(nc, await jetstreamManager(nc), settings);
  }

  async count(): Promise<number> {
    return (await this.jsm.streams.info(this.settings.stream)).state.messages;
  }

  /** Takes every message through the workers' consumer and acknowledges it (a work queue then deletes it). */
  async drain(): Promise<Array<{ message: StreamMessage; msgId: string | undefined }>> {
    const consumer = await jetstream(this.nc).consumers.get(this.settings.stream, this.settings.consumer);
    const taken: Array<{ message: StreamMessage; msgId: string | undefined }> = [];
    for (let left = await this.count(); left > 0; left = await this.count()) {
      // Asking for exactly what is left ends the fetch as soon as it has them.
      for await (const msg of await consumer.fetch({ max_messages: left, expires: 5000 })) {
        taken.push({ message: decodeStreamMessage(msg.data), msgId: msg.headers?.get('Nats-Msg-Id') });
        assert.ok(await msg.ackAck(), 'the stream confirms the acknowledgement');
      }
    }
    return taken;
  }

  async close({ deleteStream }: { deleteStream: boolean }): Promise<void> {
    if (deleteStream) await this.jsm.streams.delete(this.settings.stream);
    await this.nc.close();
  }
}


interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

function poster(server: TestServer) {
  return async (body: string, key?: string): Promise<Answer> => {
    const response = await fetch(`${server.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${ADMIN_TOKEN}`, ...(key ? { 'idempotency-key': key } : {}) },
      body,
      // A request that hangs fails the test instead of stalling the suite.
      signal: AbortSignal.timeout(20_000),
    });
    return { status: response.status, headers: response.headers, body: await response.json() };
  };
}

/** Retries as a client does, honouring Retry-After, until an answer other than 503 (or gives up). */
async function untilAccepted(post: () => Promise<Answer>, attempts = 20): Promise<Answer> {
  for (let i = 1; ; i++) {
    const answer = await post();
    if (answer.status !== 503 || i === attempts) return answer;
    await sleep(Number(answer.headers.get('retry-after')) * 1000);
  }
}

/** One request's messages' sums per (model, task, minute): each appears in exactly one message. */
function sumsOf(messages: readonly StreamMessage[]): Map<string, AccumulatorSnapshot> {
  const sums = new Map<string, AccumulatorSnapshot>();
  for (const message of messages) {
    for (const b of message.minuteBuckets) {
      const key = `${b.modelId} ${b.task} ${b.start}`;
      assert.ok(!sums.has(key), `${key} in one message only`);
      sums.set(key, b.sums);
    }
  }
  return sums;
}

async function storedMinuteSums(server: TestServer): Promise<Map<string, AccumulatorSnapshot>> {
  const rows = new Map<string, AccumulatorSnapshot>();
  for (const model of MODELS) {
    for (const row of await server.fleet.stabilityStore.buckets(model, Resolution.minute, FROM, TO)) rows.set(`${row.modelId} ${row.task} ${row.start}`, row.sums);
  }
  return rows;
}

const metricValue = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

if (!NATS_URL) {
  test('stream ingestion', { skip: 'MODELFLEET_TEST_NATS_URL is unset; set it (nats://127.0.0.1:4222) to run the JetStream ingestion tests' }, () => {});
} else {
  forEachDatabase((db) => {
    describe(`ingestion through JetStream (${db.name})`, () => {
      const settings = uniqueSettings();
      let server: TestServer;
      let reference: TestServer;
      let probe: StreamProbe;
      let post: ReturnType<typeof poster>;
      before(async () => {
        server = await TestServer.start(db, { clock: new ManualClock(FIXTURE_NOW), stream: { natsUrl: NATS_URL, settings } });
        // The in-process path fed the same bodies: what the stream's sums must add up to.
        reference = await TestServer.start(testDatabases[0]!, { clock: new ManualClock(FIXTURE_NOW) });
        await seed(server, fixtureFleet);
        await seed(reference, fixtureFleet);
        probe = await StreamProbe.open(NATS_URL, settings);
        post = poster(server);
      });
      after(async () => {
        await server?.close();
        await reference?.close();
        await probe?.close({ deleteStream: true });
      });

      it('answers as the in-process path does, once the stream holds one message per model type with the same sums, and writes no buckets', async () => {
        const answer = await post(mixedBody);
        const expected = await poster(reference)(mixedBody);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.deepEqual(answer.body, expected.body, 'same counts and the same line errors');
        assert.equal(answer.body.rejected, 4);
        assert.equal(await probe.count(), TYPES, 'one message per model type, stored before the answer');
        assert.equal((await storedMinuteSums(server)).size, 0, 'the API server writes no buckets');

        const taken = await probe.drain();
        assert.deepEqual(taken.map((t) => t.message.modelType).sort(), fixtureFleet.modelTypes.map((t) => t.name).sort());
        assert.equal(taken.reduce((n, t) => n + t.message.events, 0), answer.body.accepted);
        assert.ok(taken.every((t) => t.msgId), 'every message has an id, for the workers to drop duplicates');
        const streamed = sumsOf(taken.map((t) => t.message));
        const stored = await storedMinuteSums(reference);
        assert.equal(streamed.size, stored.size);
        for (const [key, sums] of stored) assert.deepEqual(streamed.get(key), sums, key);

        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        assert.equal(metricValue(metrics, 'modelfleet_ingest_events_total{outcome="accepted",reason=""}'), answer.body.accepted);
        assert.equal(metricValue(metrics, 'modelfleet_ingest_events_total{outcome="rejected",reason="unknown_model"}'), 1);
        assert.equal(metricValue(metrics, 'modelfleet_ingest_stream_messages_total{duplicate="false"}'), TYPES);
        assert.equal(metricValue(metrics, 'modelfleet_ingest_stream_backlog_messages'), 0, 'the backlog read before publishing');
      });

      it('counts a request retried with the same Idempotency-Key once, one after another or at once; a different body under the key is 409', async () => {
        const body = fixtureLines.slice(0, 3000).join('\n') + '\n';
        const answers: Answer[] = [];
        for (let i = 0; i < 5; i++) answers.push(await post(body, 'batch-1'));
        assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
        assert.deepEqual(answers.map((a) => a.headers.get('idempotent-replayed')), [null, 'true', 'true', 'true', 'true']);
        for (const a of answers) assert.deepEqual(a.body, answers[0]!.body);
        assert.equal(await probe.count(), TYPES);

        const together = await Promise.all(Array.from({ length: 5 }, () => post(body, 'batch-2')));
        assert.deepEqual(together.map((a) => a.status), [200, 200, 200, 200, 200]);
        assert.equal(together.filter((a) => a.headers.get('idempotent-replayed') === null).length, 1, 'one of them is the first');
        assert.equal(await probe.count(), 2 * TYPES);

        const reused = await post(fixtureLines.slice(0, 10).join('\n'), 'batch-1');
        assert.equal(reused.status, 409, JSON.stringify(reused.body));
        assert.match(reused.body.error.message, /already used .* for a different body/);
        assert.equal(await probe.count(), 2 * TYPES, 'nothing published for the refused body');

        const taken = await probe.drain();
        assert.equal(new Set(taken.map((t) => t.msgId)).size, 2 * TYPES);
        assert.equal(taken.reduce((n, t) => n + t.message.events, 0), 2 * answers[0]!.body.accepted, 'each batch once');
      });

      it('stores a request published again under the same key once: the stream drops the repeat within its duplicate window', async () => {
        // What happens when a request's publish went through but its commit did not: the retry publishes the same ids.
        const publisher = server.fleet.eventPublisher!;
        const message: StreamMessage = { v: 1, modelType: 'ig_feed_main_mtml', events: 0, acceptedAt: FIXTURE_NOW, minuteBuckets: [] };
        await publisher.publish([message], 'ingest\u0000retried-key\u0000body-hash');
        await publisher.publish([message], 'ingest\u0000retried-key\u0000body-hash');
        assert.equal(await probe.count(), 1);
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        assert.equal(metricValue(metrics, 'modelfleet_ingest_stream_messages_total{duplicate="true"}'), 1);
        await probe.drain();
      });
    });

    describe(`backpressure on the event stream (${db.name})`, () => {
      const settings = uniqueSettings();
      let server: TestServer;
      let probe: StreamProbe;
      let post: ReturnType<typeof poster>;
      before(async () => {
        server = await TestServer.start(db, { clock: new ManualClock(FIXTURE_NOW), stream: { natsUrl: NATS_URL, settings, maxPending: 2 } });
        await seed(server, fixtureFleet);
        probe = await StreamProbe.open(NATS_URL, settings);
        post = poster(server);
      });
      after(async () => {
        await server?.close();
        await probe?.close({ deleteStream: true });
      });

      it('answers 503 with Retry-After while no worker keeps up, keeping and publishing nothing, and 200 once the backlog drains', async () => {
        // The backlog is read at most once a second, so requests pass until a read sees it over the limit.
        let refused: Answer | null = null;
        for (let i = 0; i < 40 && !refused; i++) {
          const answer = await post(feedBody(i % 10));
          if (answer.status === 503) refused = answer;
          else {
            assert.equal(answer.status, 200, JSON.stringify(answer.body));
            await sleep(100);
          }
        }
        assert.ok(refused, 'a request is refused once the backlog is over maxPending');
        assert.equal(refused.body.error.code, 'unavailable');
        assert.match(refused.body.error.message, /stability workers are behind: \d+ messages wait .*limit 2/);
        const retryAfter = Number(refused.headers.get('retry-after'));
        assert.ok(retryAfter >= 1 && retryAfter <= 5, `Retry-After ${refused.headers.get('retry-after')}`);

        const backlog = await probe.count();
        assert.ok(backlog > 2);
        const keyed = await post(feedBody(0), 'after-the-flood');
        assert.equal(keyed.status, 503, 'the backlog only grew, so it is still over the limit');
        assert.equal(await probe.count(), backlog, 'nothing published');
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        assert.ok(metricValue(metrics, 'modelfleet_ingest_refused_requests_total{reason="backlog"}')! >= 2);
        assert.ok(metricValue(metrics, 'modelfleet_ingest_stream_backlog_messages')! > 2);

        assert.equal((await probe.drain()).length, backlog, 'every accepted request is on the stream');
        const accepted = await untilAccepted(() => post(feedBody(0), 'after-the-flood'));
        assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
        assert.equal(accepted.headers.get('idempotent-replayed'), null, 'the refused request did not claim its key');
        assert.equal(await probe.count(), 1);
      });
    });

    describe(`NATS down and back (${db.name})`, () => {
      const settings = uniqueSettings();
      let nats: PrivateNats;
      let server: TestServer;
      let post: ReturnType<typeof poster>;
      before(async () => {
        nats = await PrivateNats.start();
        server = await TestServer.start(db, { clock: new ManualClock(FIXTURE_NOW), stream: { natsUrl: nats.url, settings } });
        await seed(server, fixtureFleet);
        post = poster(server);
      });
      after(async () => {
        await server?.close();
        await nats?.close();
      });

      const streamCount = async () => {
        const probe = await StreamProbe.open(nats.url, settings);
        try {
          return await probe.count();
        } finally {
          await probe.close({ deleteStream: false });
        }
      };

      it('answers 503 with Retry-After while NATS is down, keeping nothing, and loses nothing accepted before', async () => {
        const first = await post(feedBody(0), 'before');
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(await streamCount(), 1);

        await nats.stop();
        const down = await post(fixtureLines.slice(0, 2000).join('\n'), 'while-down');
        assert.equal(down.status, 503, JSON.stringify(down.body));
        assert.equal(down.body.error.code, 'unavailable');
        assert.match(down.body.error.message, /event stream (is unreachable|did not acknowledge)/);
        assert.ok(Number(down.headers.get('retry-after')) >= 1);

        await nats.run();
        const retried = await untilAccepted(() => post(fixtureLines.slice(0, 2000).join('\n'), 'while-down'));
        assert.equal(retried.status, 200, JSON.stringify(retried.body));
        assert.equal(retried.headers.get('idempotent-replayed'), null, 'the refused request did not claim its key');
        assert.equal(await streamCount(), 1 + TYPES, 'the message accepted before the restart is still there, the retry counted once');
      });
    });
  });
}
