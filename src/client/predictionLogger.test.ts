import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { IngestError } from './ingestError.js';
import { PredictionLogger } from './predictionLogger.js';
import type { PredictionLoggerOptions } from './loggerOptions.js';
import type { Rejection } from './rejection.js';

// The server is replaced by a scripted `fetch` here so retry schedules, timeouts and failures can be
// driven exactly and instantly; test/predictionClient.test.ts runs the same client against the real
// server on SQLite and PostgreSQL.

interface SentRequest {
  url: string;
  headers: Record<string, string>;
  bytes: Buffer;
  batches: Array<{ model: string; task: string; p: number[]; y: number[]; ts: number[] | number; w?: number[] }>;
  events: number;
}

type Reply = Response | Error | ((request: SentRequest, signal: AbortSignal) => Response | Error | Promise<Response>);

/** A fetch that records each request and answers from `script` (then 200 with everything accepted). */
function scriptedFetch(script: Reply[] = []) {
  const requests: SentRequest[] = [];
  const load = { now: 0, max: 0 };
  const fetchFn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const raw = typeof init?.body === 'string' ? Buffer.from(init.body) : Buffer.from(init?.body as Uint8Array);
    const text = headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    const batches = JSON.parse(text) as SentRequest['batches'];
    const request: SentRequest = { url: String(input), headers, bytes: raw, batches, events: batches.reduce((n, b) => n + b.p.length, 0) };
    requests.push(request);
    load.max = Math.max(load.max, ++load.now);
    try {
      const next = script.shift();
      const reply = typeof next === 'function' ? await next(request, init!.signal!) : next;
      if (reply instanceof Error) throw reply;
      return reply ?? accepted(request.events);
    } finally {
      load.now -= 1;
    }
  };
  return { fetch: fetchFn as typeof fetch, requests, load };
}

const accepted = (n: number) => Response.json({ accepted: n, rejected: 0, errors: [] });
const failure = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  Response.json({ error: { code, message, details: [] } }, { status, headers });
const refused = () => new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });

function logger(options: PredictionLoggerOptions & { sleeps?: number[] } = {}) {
  const sleeps = options.sleeps ?? [];
  const errors: IngestError[] = [];
  const rejections: Rejection[][] = [];
  const log = new PredictionLogger({
    server: 'http://modelfleet.test:8080',
    token: 'mf_test',
    flushOnExit: false,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0,
    onError: (error) => errors.push(error),
    onRejected: (list) => rejections.push(list),
    ...options,
  });
  return { log, sleeps, errors, rejections };
}

const event = (i: number, model = 'ig_feed_main_mtml:v1', task = 'PLIKE') => ({ model, task, p: (i % 100) / 100, y: (i % 7 === 0 ? 1 : 0) as 0 | 1, ts: 1764064800000 + i });
const tick = () => new Promise((resolve) => setImmediate(resolve));
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  assert.ok(condition(), 'condition not met within a second');
}

test('a batch goes out when maxBatchEvents are buffered; flush sends the rest; one request at a time', async () => {
  const server = scriptedFetch();
  const { log, errors } = logger({ fetch: server.fetch, maxBatchEvents: 100 });
  for (let i = 0; i < 250; i++) assert.equal(log.log(event(i)), true);
  await until(() => server.requests.length > 0);
  const result = await log.flush();
  // flush() answers for the batches it waited for; the first may already have been delivered.
  assert.deepEqual({ ...result, accepted: 0 }, { accepted: 0, rejected: 0, failed: 0, pending: 0 });
  assert.ok(result.accepted >= 150);
  assert.deepEqual(server.requests.map((r) => r.events), [100, 100, 50]);
  assert.equal(server.load.max, 1, 'one request in flight at a time');
  const [first] = server.requests;
  assert.equal(first!.url, 'http://modelfleet.test:8080/api/v1/events');
  assert.equal(first!.headers['authorization'], 'Bearer mf_test');
  assert.equal(first!.headers['content-type'], 'application/json');
  assert.equal(first!.headers['content-encoding'], 'gzip');
  assert.equal(new Set(server.requests.map((r) => r.headers['idempotency-key'])).size, 3, 'a key per batch');
  assert.deepEqual(log.stats(), { buffered: 0, sent: 250, accepted: 250, rejected: 0, dropped: 0, retries: 0, batches: 3, failedBatches: 0, failedEvents: 0, lastError: null });
  assert.deepEqual(errors, []);
  await log.close();
});

test('concurrency lets several batches be in flight at once', async () => {
  const slow = async (request: SentRequest) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return accepted(request.events);
  };
  const server = scriptedFetch(Array.from({ length: 6 }, () => slow));
  const { log } = logger({ fetch: server.fetch, maxBatchEvents: 10, concurrency: 3 });
  for (let i = 0; i < 60; i++) log.log(event(i));
  assert.deepEqual(await log.close(), { accepted: 60, rejected: 0, failed: 0, pending: 0 });
  assert.equal(server.load.max, 3);
});

test('a partial batch is sent flushIntervalMs after its first prediction, without a flush', async () => {
  const server = scriptedFetch();
  const { log } = logger({ fetch: server.fetch, flushIntervalMs: 20 });
  log.log(event(1));
  log.log(event(2, 'ig_feed_main_mtml:v1', 'PCOMMENT'));
  assert.equal(server.requests.length, 0);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(server.requests.length, 1);
  assert.deepEqual(server.requests[0]!.batches.map((b) => b.task), ['PLIKE', 'PCOMMENT']);
  assert.equal(server.requests[0]!.headers['content-encoding'], undefined, 'a body under 1 KiB is not worth compressing');
  await log.close();
});

test('ts defaults to the clock at log(); compression can be turned off', async () => {
  const server = scriptedFetch();
  const { log } = logger({ fetch: server.fetch, now: () => 1764064899999, compression: 'none' });
  for (let i = 0; i < 200; i++) log.log({ model: 'm:v1', task: 'PLIKE', p: 0.5, y: true });
  await log.flush();
  assert.equal(server.requests[0]!.headers['content-encoding'], undefined);
  assert.deepEqual(server.requests[0]!.batches[0]!.ts, 1764064899999);
  assert.equal(server.requests[0]!.batches[0]!.y[0], 1);
  await log.close();
});

test('network errors, 429 and 5xx are retried with backoff, Retry-After honoured, the same key and bytes each time', async () => {
  const server = scriptedFetch([
    refused(),
    failure(503, 'unavailable', 'starting up'),
    failure(429, 'rate_limited', 'slow down', { 'retry-after': '3' }),
    failure(500, 'internal', 'boom'),
  ]);
  const { log, sleeps, errors } = logger({ fetch: server.fetch });
  for (let i = 0; i < 2000; i++) log.log(event(i));
  const result = await log.flush();
  assert.deepEqual(result, { accepted: 2000, rejected: 0, failed: 0, pending: 0 });
  assert.equal(server.requests.length, 5);
  assert.equal(new Set(server.requests.map((r) => r.headers['idempotency-key'])).size, 1, 'one key across the retries');
  for (const r of server.requests) assert.ok(r.bytes.equals(server.requests[0]!.bytes), 'the very same body each time');
  assert.deepEqual(sleeps, [250, 500, 3000, 2000], 'backoff 250, 500, (1000 but Retry-After 3 s), 2000');
  const stats = log.stats();
  assert.equal(stats.retries, 4);
  assert.equal(stats.failedBatches, 0);
  assert.match(stats.lastError!.message, /^500 internal: boom/);
  assert.deepEqual(errors, [], 'retried errors that then succeed are not reported as failures');
  await log.close();
});

test('retries stop at maxRetries; the batch is reported failed once and memory is released', async () => {
  const server = scriptedFetch(Array.from({ length: 10 }, () => refused()));
  const { log, sleeps, errors } = logger({ fetch: server.fetch, maxRetries: 2 });
  for (let i = 0; i < 10; i++) log.log(event(i));
  assert.deepEqual(await log.flush(), { accepted: 0, rejected: 0, failed: 10, pending: 0 });
  assert.equal(server.requests.length, 3);
  assert.equal(sleeps.length, 2);
  await tick();
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.kind, 'network');
  assert.equal(errors[0]!.events, 10);
  assert.equal(errors[0]!.idempotencyKey, server.requests[0]!.headers['idempotency-key']);
  assert.match(errors[0]!.message, /^10 predictions not delivered after 3 attempts: cannot reach http:\/\/modelfleet\.test:8080: connect ECONNREFUSED/);
  assert.deepEqual({ ...log.stats(), lastError: null }, { buffered: 0, sent: 0, accepted: 0, rejected: 0, dropped: 0, retries: 2, batches: 0, failedBatches: 1, failedEvents: 10, lastError: null });
  await log.close();
});

test('4xx other than 429 are not retried; the error carries status, code and a hint', async () => {
  const server = scriptedFetch([failure(403, 'forbidden', 'ingest needs an ingest token'), failure(400, 'invalid_input', 'bad body')]);
  const { log, sleeps, errors } = logger({ fetch: server.fetch });
  log.log(event(1));
  await log.flush();
  log.log(event(2));
  await log.flush();
  await tick();
  assert.equal(server.requests.length, 2);
  assert.deepEqual(sleeps, []);
  assert.deepEqual(errors.map((e) => [e.kind, e.status, e.code, e.retryable]), [['http', 403, 'forbidden', false], ['http', 400, 'invalid_input', false]]);
  assert.match(errors[0]!.message, /403 forbidden: ingest needs an ingest token\. Use an ingest token, or a member token of the team that owns the models\./);
  assert.equal(log.stats().failedBatches, 2);
  await log.close();
});

test('a 413 splits the batch until the halves fit', async () => {
  const tooLarge = (request: SentRequest) => (request.events > 3 ? failure(413, 'payload_too_large', 'body over the limit') : accepted(request.events));
  const server = scriptedFetch(Array.from({ length: 20 }, () => tooLarge));
  const { log } = logger({ fetch: server.fetch });
  for (let i = 0; i < 10; i++) log.log(event(i, 'm:v1', i < 6 ? 'PLIKE' : 'PCOMMENT'));
  assert.deepEqual(await log.flush(), { accepted: 10, rejected: 0, failed: 0, pending: 0 });
  const delivered = server.requests.filter((r) => r.events <= 3);
  assert.equal(delivered.reduce((n, r) => n + r.events, 0), 10);
  const ps = delivered.flatMap((r) => r.batches.flatMap((b) => b.p));
  assert.deepEqual(ps, [0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09], 'every event once, in order');
  assert.equal(log.stats().retries, 0);
  await log.close();
});

test('past maxBufferedEvents new predictions are dropped, counted and reported once per run', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held = async (request: SentRequest) => {
    await gate;
    return accepted(request.events);
  };
  const server = scriptedFetch([held, held, held]);
  const { log, errors } = logger({ fetch: server.fetch, maxBatchEvents: 5, maxBufferedEvents: 10 });
  const kept = Array.from({ length: 30 }, (_, i) => log.log(event(i)));
  assert.deepEqual(kept, [...Array(10).fill(true), ...Array(20).fill(false)], 'the first 10 are kept, the newest dropped');
  assert.equal(log.stats().buffered, 10);
  assert.equal(log.stats().dropped, 20);
  await tick();
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.kind, 'buffer_full');
  assert.match(errors[0]!.message, /dropping new predictions: 10 are already waiting/);
  release();
  await log.flush();
  assert.equal(log.log(event(99)), true, 'room again once delivered');
  await log.flush();
  assert.equal(log.stats().accepted, 11);
  assert.deepEqual(server.requests.flatMap((r) => r.batches[0]!.p), [0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.99]);
  await log.close();
});

test('rejections come back with the prediction each refers to', async () => {
  const server = scriptedFetch([
    (request) => Response.json({ accepted: request.events - 2, rejected: 2, errors: [{ line: 3, message: "model 'x:v9' is not registered" }, { line: 99, message: 'off the end' }] }),
  ]);
  const { log, rejections } = logger({ fetch: server.fetch });
  log.log(event(1));
  log.log({ model: 'x:v9', task: 'PLIKE', p: 0.2, y: 1, ts: 1764064800005, w: 3, id: 'req-77' });
  log.log(event(3));
  assert.deepEqual(await log.flush(), { accepted: 1, rejected: 2, failed: 0, pending: 0 });
  await tick();
  assert.equal(rejections.length, 1);
  const [known, unknown] = rejections[0]!;
  // Lines count across the body's columnar batches: both ig_feed events come first, so x:v9 is line 3.
  assert.deepEqual(known, {
    message: "model 'x:v9' is not registered",
    line: 3,
    prediction: { model: 'x:v9', task: 'PLIKE', p: 0.2, y: 1, ts: 1764064800005, w: 3, id: 'req-77' },
    idempotencyKey: server.requests[0]!.headers['idempotency-key'],
  });
  assert.equal(unknown!.prediction, null);
  assert.equal(log.stats().rejected, 2);
  await log.close();
});

test('close() with a timeout abandons what is still in flight, and log() after close drops', async () => {
  const hang = (_request: SentRequest, signal: AbortSignal) =>
    new Promise<Response>((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
  const server = scriptedFetch([hang]);
  const { log, errors } = logger({ fetch: server.fetch });
  for (let i = 0; i < 7; i++) log.log(event(i));
  const started = Date.now();
  assert.deepEqual(await log.close({ timeoutMs: 50 }), { accepted: 0, rejected: 0, failed: 7, pending: 0 });
  assert.ok(Date.now() - started < 5000);
  assert.equal(log.log(event(8)), false);
  await tick();
  assert.deepEqual(errors.map((e) => e.kind), ['closed', 'closed']);
  assert.match(errors[0]!.message, /7 predictions not delivered: the logger was closed after 1 attempt/);
  assert.match(errors[1]!.message, /log\(\) was called after close\(\)/);
  assert.deepEqual(await log.close(), { accepted: 0, rejected: 0, failed: 0, pending: 0 }, 'closing twice is harmless');
});

test('flush() with a timeout reports what is still pending and leaves it running', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const server = scriptedFetch([
    async (request) => {
      await gate;
      return accepted(request.events);
    },
  ]);
  const { log } = logger({ fetch: server.fetch });
  for (let i = 0; i < 4; i++) log.log(event(i));
  assert.deepEqual(await log.flush({ timeoutMs: 20 }), { accepted: 0, rejected: 0, failed: 0, pending: 4 });
  release();
  assert.deepEqual(await log.close(), { accepted: 4, rejected: 0, failed: 0, pending: 0 });
});

test('an attempt with no answer within requestTimeoutMs is retried', async () => {
  const hang = (_request: SentRequest, signal: AbortSignal) =>
    new Promise<Response>((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
  const server = scriptedFetch([hang]);
  const { log } = logger({ fetch: server.fetch, requestTimeoutMs: 20 });
  log.log(event(1));
  assert.deepEqual(await log.flush(), { accepted: 1, rejected: 0, failed: 0, pending: 0 });
  assert.equal(log.stats().retries, 1);
  assert.equal(log.stats().lastError!.kind, 'timeout');
  await log.close();
});

test('a success answer that is not an ingest result fails the batch instead of counting it', async () => {
  const server = scriptedFetch([new Response('<html>welcome</html>', { status: 200, headers: { 'content-type': 'text/html' } })]);
  const { log, errors } = logger({ fetch: server.fetch });
  log.log(event(1));
  assert.deepEqual(await log.flush(), { accepted: 0, rejected: 0, failed: 1, pending: 0 });
  await tick();
  assert.equal(errors[0]!.kind, 'bad_response');
  assert.match(errors[0]!.message, /is something else listening there\?/);
  await log.close();
});

test('log() throws a TypeError naming the bad field and buffers nothing', () => {
  const { log } = logger({ fetch: scriptedFetch().fetch });
  assert.throws(() => log.log({ model: 'm:v1', task: 'PLIKE', p: 1.2, y: 0 }), /PredictionLogger\.log: p must be a probability in \[0, 1\]; got 1\.2/);
  assert.throws(() => log.log({ model: 'm:v1', task: 'PLIKE', p: 0.2, y: 2 as 1 }), /\by must be/);
  assert.throws(() => log.log({ model: 'm:v1', task: 'PLIKE', p: 0.2, y: 0, ts: Number.NaN }), /\bts must be/);
  assert.throws(() => log.log({ model: '', task: 'PLIKE', p: 0.2, y: 0 }), /\bmodel must be/);
  assert.throws(() => log.log({ model: 'm:v1', task: 'plike', p: 0.2, y: 0 }), /\btask must be/);
  assert.throws(() => log.log(null as never), /the prediction must be an object/);
  assert.equal(log.stats().buffered, 0);
});

test('options are checked at construction, naming the bad one', () => {
  const saved = { server: process.env['MODELFLEET_SERVER'], token: process.env['MODELFLEET_TOKEN'] };
  delete process.env['MODELFLEET_SERVER'];
  delete process.env['MODELFLEET_TOKEN'];
  try {
    assert.throws(() => new PredictionLogger({ token: 't' }), /server is required/);
    assert.throws(() => new PredictionLogger({ server: 'http://h:1' }), /token is required/);
    assert.throws(() => new PredictionLogger({ server: 'ftp://h', token: 't' }), /server must be an http\(s\) URL/);
    assert.throws(() => new PredictionLogger({ server: 'http://h:1', token: 't', maxBatchEvents: 0 }), /maxBatchEvents must be an integer from 1/);
    assert.throws(() => new PredictionLogger({ server: 'http://h:1', token: 't', maxBatchEvents: 1000, maxBufferedEvents: 10 }), /maxBufferedEvents \(10\) must be at least maxBatchEvents \(1000\)/);
    assert.throws(() => new PredictionLogger({ server: 'http://h:1', token: 't', compression: 'br' as 'gzip' }), /compression must be/);
    process.env['MODELFLEET_SERVER'] = 'http://from-env:8080/prefix/';
    process.env['MODELFLEET_TOKEN'] = 'mf_env';
    const server = scriptedFetch();
    const log = new PredictionLogger({ fetch: server.fetch, flushOnExit: false });
    log.log(event(1));
    return log.close().then(() => {
      assert.equal(server.requests[0]!.url, 'http://from-env:8080/prefix/api/v1/events');
      assert.equal(server.requests[0]!.headers['authorization'], 'Bearer mf_env');
    });
  } finally {
    for (const [key, value] of [['MODELFLEET_SERVER', saved.server], ['MODELFLEET_TOKEN', saved.token]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
});
