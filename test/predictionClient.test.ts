import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PredictionLogger, type IngestError, type PredictionLoggerOptions, type Rejection } from '../src/client/index.js';
import { forEachDatabase, sample, seed, TestServer } from './harness.js';

const TYPE = 'ig_feed_main_mtml';
const V1 = `${TYPE}:v1`;
const V2 = `${TYPE}:v2`;

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** What a proxy in front of the server saw of one request and its upstream answer. */
interface Exchange {
  idempotencyKey: string | undefined;
  contentEncoding: string | undefined;
  status: number;
  replayed: boolean;
  dropped: boolean;
}

/**
 * A node:http proxy on an ephemeral port that forwards to the real server. With `dropAnswers: n` it
 * destroys the client's socket after the upstream has answered the first n requests, the way a
 * load balancer or a flaky network loses a response whose request was already processed.
 */
async function startProxy(upstream: string, options: { dropAnswers?: number } = {}): Promise<{ url: string; exchanges: Exchange[]; close(): Promise<void> }> {
  const exchanges: Exchange[] = [];
  let toDrop = options.dropAnswers ?? 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = forwardable(req.headers);
    const answer = await fetch(`${upstream}${req.url}`, { method: req.method!, headers, body: Buffer.concat(chunks) });
    const body = Buffer.from(await answer.arrayBuffer());
    const dropped = toDrop > 0;
    exchanges.push({
      idempotencyKey: header(req.headers, 'idempotency-key'),
      contentEncoding: header(req.headers, 'content-encoding'),
      status: answer.status,
      replayed: answer.headers.get('idempotent-replayed') === 'true',
      dropped,
    });
    if (dropped) {
      toDrop -= 1;
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, Object.fromEntries([...answer.headers].filter(([name]) => !['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name))));
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const header = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};
function forwardable(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || ['host', 'connection', 'content-length', 'keep-alive', 'transfer-encoding'].includes(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function collecting(options: PredictionLoggerOptions) {
  const errors: IngestError[] = [];
  const rejections: Rejection[] = [];
  const log = new PredictionLogger({
    flushOnExit: false,
    onError: (error) => errors.push(error),
    onRejected: (list) => rejections.push(...list),
    ...options,
  });
  return { log, errors, rejections };
}

/** Deterministic predictions spread over the last few minutes (the server refuses events over an hour old). */
function* predictions(n: number, models: string[], tasks: string[], now = Date.now()) {
  for (let i = 0; i < n; i++) {
    const p = ((i * 7919) % 1000) / 1000;
    yield { model: models[i % models.length]!, task: tasks[Math.floor(i / models.length) % tasks.length]!, p, y: (p > 0.7 ? 1 : 0) as 0 | 1, ts: now - (i % 180_000) };
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

forEachDatabase((db) => {
  describe(`modelfleet/client against the server on ${db.name}`, () => {
    let server: TestServer;
    let ingestToken: string;

    /** Events the server has summed for `model`, per task, over the last two hours. */
    async function storedCounts(model: string): Promise<Record<string, number>> {
      const now = Date.now();
      const rows = await server.fleet.stabilityStore.windowSums(now - 2 * 3_600_000, now + 3_600_000, [model]);
      return Object.fromEntries(rows.map((r) => [r.task, r.sums.count]));
    }

    /** A counter from the server's Prometheus endpoint, 0 when the series does not exist yet. */
    async function counter(series: string): Promise<number> {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    }

    before(async () => {
      server = await TestServer.start(db);
      await seed(server, {
        teams: [sample.team('feed-ranking')],
        modelTypes: [sample.modelType(TYPE, 'feed-ranking')],
        models: [sample.model(V1), sample.model(V2, { trafficShare: 0.05 })],
      });
      ingestToken = await server.token('serving-feed', 'ingest');
    });
    after(() => server.close());

    test('thousands of predictions of two models and two tasks arrive in gzipped batches and are counted once', async () => {
      const { log, errors, rejections } = collecting({ server: server.url, token: ingestToken, maxBatchEvents: 1000 });
      for (const event of predictions(6000, [V1, V2], ['PLIKE', 'PCOMMENT'])) assert.equal(log.log(event), true);
      const result = await log.close();
      await settle();
      assert.deepEqual(errors, []);
      assert.deepEqual(rejections, []);
      assert.equal(result.failed, 0);
      const stats = log.stats();
      assert.deepEqual({ ...stats, lastError: null }, { buffered: 0, sent: 6000, accepted: 6000, rejected: 0, dropped: 0, retries: 0, batches: 6, failedBatches: 0, failedEvents: 0, lastError: null });
      assert.deepEqual(await storedCounts(V1), { PCOMMENT: 1500, PLIKE: 1500 });
      assert.deepEqual(await storedCounts(V2), { PCOMMENT: 1500, PLIKE: 1500 });
    });

    test("the server's rejections come back with the prediction they refer to", async () => {
      const { log, errors, rejections } = collecting({ server: server.url, token: ingestToken });
      const now = Date.now();
      log.log({ model: V1, task: 'PLIKE', p: 0.2, y: 0, ts: now });
      log.log({ model: `${TYPE}:v99`, task: 'PLIKE', p: 0.3, y: 1, ts: now, id: 'req-unknown-model' });
      log.log({ model: V1, task: 'PLIKE', p: 0.4, y: 1, ts: now - 3 * 3_600_000, id: 'req-too-old' });
      log.log({ model: V1, task: 'PSHARE', p: 0.5, y: 0, ts: now, id: 'req-unknown-task' });
      assert.deepEqual(await log.close(), { accepted: 1, rejected: 3, failed: 0, pending: 0 });
      await settle();
      assert.deepEqual(errors, []);
      const byId = Object.fromEntries(rejections.map((r) => [r.prediction?.id ?? '?', r]));
      assert.deepEqual(Object.keys(byId).sort(), ['req-too-old', 'req-unknown-model', 'req-unknown-task']);
      assert.match(byId['req-unknown-model']!.message, /is not registered/);
      assert.equal(byId['req-unknown-model']!.prediction!.model, `${TYPE}:v99`);
      assert.match(byId['req-too-old']!.message, /min old/);
      assert.equal(byId['req-too-old']!.prediction!.p, 0.4);
      assert.match(byId['req-unknown-task']!.message, /PSHARE/);
      assert.deepEqual(log.stats().rejected, 3);
    });

    test('a retried batch counts once: the proxy loses the first answer, the client retries with the same key and bytes', async () => {
      const before = await storedCounts(V1);
      const acceptedSeries = 'modelfleet_ingest_events_total{outcome="accepted",reason=""}';
      const replaySeries = 'modelfleet_ingest_requests_total{format="columnar",replayed="true"}';
      const [acceptedBefore, replaysBefore] = [await counter(acceptedSeries), await counter(replaySeries)];
      const proxy = await startProxy(server.url, { dropAnswers: 1 });
      try {
        const { log, errors } = collecting({ server: proxy.url, token: ingestToken, initialBackoffMs: 20, maxBackoffMs: 40 });
        for (const event of predictions(3000, [V1], ['PLIKE'])) log.log(event);
        assert.deepEqual(await log.close(), { accepted: 3000, rejected: 0, failed: 0, pending: 0 });
        await settle();
        assert.deepEqual(errors, []);
        assert.equal(proxy.exchanges.length, 2);
        const [lost, retried] = proxy.exchanges;
        assert.deepEqual(lost, { idempotencyKey: lost!.idempotencyKey, contentEncoding: 'gzip', status: 200, replayed: false, dropped: true }, 'the server processed the first attempt');
        assert.match(lost!.idempotencyKey ?? '', /^[0-9a-f-]{36}$/);
        assert.deepEqual(retried, { idempotencyKey: lost!.idempotencyKey, contentEncoding: 'gzip', status: 200, replayed: true, dropped: false }, 'the retry was answered from the first');
        const stats = log.stats();
        assert.equal(stats.retries, 1);
        assert.equal(stats.lastError!.kind, 'network');
        assert.equal(stats.accepted, 3000);
        assert.deepEqual(await storedCounts(V1), { ...before, PLIKE: (before['PLIKE'] ?? 0) + 3000 }, 'counted once, not twice');
        assert.equal((await counter(acceptedSeries)) - acceptedBefore, 3000, "the server's own counter agrees");
        assert.equal((await counter(replaySeries)) - replaysBefore, 1);
      } finally {
        await proxy.close();
      }
    });

    test('4xx answers are not retried: a viewer token gets one 403, a revoked or unknown token one 401', async () => {
      const proxy = await startProxy(server.url);
      try {
        const viewer = await server.token('dashboards', 'viewer');
        for (const [token, status, code] of [[viewer, 403, 'forbidden'], ['mf_not_a_token', 401, 'unauthorized']] as const) {
          const { log, errors } = collecting({ server: proxy.url, token, initialBackoffMs: 1, maxBackoffMs: 1 });
          for (const event of predictions(50, [V1], ['PLIKE'])) log.log(event);
          assert.deepEqual(await log.close(), { accepted: 0, rejected: 0, failed: 50, pending: 0 });
          await settle();
          assert.equal(errors.length, 1);
          assert.equal(errors[0]!.kind, 'http');
          assert.equal(errors[0]!.status, status);
          assert.equal(errors[0]!.code, code);
          assert.equal(errors[0]!.retryable, false);
          assert.equal(errors[0]!.events, 50);
          assert.deepEqual({ retries: log.stats().retries, failedBatches: log.stats().failedBatches }, { retries: 0, failedBatches: 1 });
        }
        assert.deepEqual(proxy.exchanges.map((e) => e.status), [403, 401], 'one request each');
      } finally {
        await proxy.close();
      }
    });

    test('a member token logs its own team models; the export modelfleet/client works from a plain script that never calls close()', async () => {
      const member = await server.token('feed-serving', 'member', 'feed-ranking');
      const before = await storedCounts(V2);
      // A separate process proves two things a test inside this one cannot: the package export
      // resolves, and flushOnExit delivers what a process that simply runs out of work logged.
      const script = `
        import { PredictionLogger } from 'modelfleet/client';
        const log = new PredictionLogger({ server: process.env.MF_SERVER, token: process.env.MF_TOKEN, flushIntervalMs: 600000 });
        for (let i = 0; i < 250; i++) log.log({ model: '${V2}', task: 'PCOMMENT', p: i / 250, y: i % 2 });
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: repoRoot(),
        env: { ...process.env, MF_SERVER: server.url, MF_TOKEN: member },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += String(chunk)));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 0, stderr);
      assert.equal(stderr, '', 'no warnings');
      assert.deepEqual(await storedCounts(V2), { ...before, PCOMMENT: (before['PCOMMENT'] ?? 0) + 250 });
    });
  });
});

describe('modelfleet/client when the server is down', () => {
  test('connection refused: retries with backoff, then failedBatches; the buffer stays bounded and drops are counted', async () => {
    const port = await closedPort();
    const sleeps: number[] = [];
    const { log, errors } = collecting({
      server: `http://127.0.0.1:${port}`,
      token: 'mf_unused',
      maxBatchEvents: 100,
      maxBufferedEvents: 300,
      maxRetries: 2,
      initialBackoffMs: 10,
      maxBackoffMs: 20,
      sleep: (ms) => {
        sleeps.push(ms);
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    const kept = [...predictions(1000, [V1], ['PLIKE'])].map((event) => log.log(event));
    assert.equal(kept.filter(Boolean).length, 300, 'at most maxBufferedEvents held');
    assert.deepEqual(kept.slice(0, 300), Array(300).fill(true), 'the oldest are kept, the newest dropped');
    assert.equal(log.stats().buffered, 300);
    assert.equal(log.stats().dropped, 700);

    assert.deepEqual(await log.close(), { accepted: 0, rejected: 0, failed: 300, pending: 0 });
    await settle();
    const stats = log.stats();
    assert.deepEqual({ ...stats, lastError: null }, { buffered: 0, sent: 0, accepted: 0, rejected: 0, dropped: 700, retries: 6, batches: 0, failedBatches: 3, failedEvents: 300, lastError: null });
    assert.equal(sleeps.length, 6);
    for (const ms of sleeps) assert.ok(ms >= 5 && ms <= 20, `backoff ${ms} within its bounds`);
    assert.deepEqual(errors.map((e) => e.kind), ['buffer_full', 'network', 'network', 'network']);
    assert.match(errors[1]!.message, /^100 predictions not delivered after 3 attempts: cannot reach http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    assert.equal(stats.lastError!.kind, 'network');
  });
});
