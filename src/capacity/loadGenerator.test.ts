import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeHistogram, encodeHistogram, latencyHistogram, mergeHistograms, recordMs, summarize } from './histogram.js';
import { startKnownCapacityServer, type KnownCapacityServer } from './knownCapacityServer.js';
import { LoadGenerator, probeTarget, runLoadStep } from './loadGenerator.js';
import type { ReplayRequest } from './recording.js';
import { judgeStep } from './stoppers.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real server on an ephemeral port that records what it receives and answers by path. */
async function recordingServer(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const path = req.url!.replace(/^\/base/, '');
      if (path.startsWith('/slow')) return; // never answers: the generator's timeout must fire
      const status = path.startsWith('/bad') ? 404 : path.startsWith('/boom') ? 500 : path.startsWith('/moved') ? 302 : 200;
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 302 ? { location: '/ok' } : {}) });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const request = (path: string, more: Partial<ReplayRequest> = {}): ReplayRequest => ({ method: 'POST', path, headers: {}, body: null, ts: null, ...more });

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('histograms', () => {
  test('encoded, decoded and merged histograms keep every value', () => {
    const a = latencyHistogram();
    const b = latencyHistogram();
    for (let i = 1; i <= 900; i++) recordMs(a, 10);
    for (let i = 1; i <= 100; i++) recordMs(b, 500);
    const merged = mergeHistograms([decodeHistogram(encodeHistogram(a)), decodeHistogram(encodeHistogram(b))]);
    const summary = summarize(merged);
    assert.equal(summary.count, 1000);
    assert.ok(Math.abs(summary.p50 - 10) < 0.1);
    assert.ok(Math.abs(summary.p99 - 500) < 1, `p99 ${summary.p99}`);
    assert.equal(summarize(latencyHistogram()).count, 0);
  });
});

describe('load generator', () => {
  let target: Awaited<ReturnType<typeof recordingServer>>;
  before(async () => {
    target = await recordingServer();
  });
  after(() => target.close());

  test('replays a recording cyclically, bodies and headers included, and continues where the last step ended', async () => {
    target.received.length = 0;
    const recording = [
      request('/ok?n=0', { headers: { 'x-model': 'a', 'content-type': 'application/json' }, body: Buffer.from('{"f":[1]}') }),
      request('/ok?n=1', { method: 'PUT', headers: { 'x-model': 'b' }, body: Buffer.from([0, 1, 2, 255]) }),
      request('/ok?n=2', { method: 'GET', headers: { 'x-model': 'c', authorization: 'recorded' } }),
    ];
    const generator = await LoadGenerator.start({ target: `${target.url}/base/`, requests: recording, headers: { authorization: 'Bearer from-flag' } });
    try {
      const first = await generator.run({ rate: 200, warmupMs: 0, durationMs: 250 });
      assert.equal(first.scheduled, 50);
      assert.equal(first.errors, 0);
      await generator.run({ rate: 200, warmupMs: 0, durationMs: 250 });
    } finally {
      await generator.close();
    }
    assert.equal(target.received.length, 100);
    const count = (n: number) => target.received.filter((r) => r.url === `/base/ok?n=${n}`).length;
    // 100 requests through a 3-request recording without restarting it: 34, 33, 33 (restarting would give 34, 34, 32).
    assert.deepEqual([count(0), count(1), count(2)], [34, 33, 33]);
    const byPath = (n: number) => target.received.find((r) => r.url === `/base/ok?n=${n}`)!;
    assert.deepEqual([byPath(0).method, byPath(0).headers['x-model'], byPath(0).headers['content-type'], byPath(0).body], ['POST', 'a', 'application/json', '{"f":[1]}']);
    assert.deepEqual([byPath(1).method, Buffer.from(byPath(1).body, 'latin1').length > 0, byPath(1).headers['content-length']], ['PUT', true, '4']);
    assert.deepEqual([byPath(2).method, byPath(2).headers['x-model'], byPath(2).headers.authorization], ['GET', 'c', 'Bearer from-flag']);
    assert.ok(target.received.every((r) => r.headers.connection !== 'close'), 'connections are kept alive');
  });

  test('classifies errors: 3xx, 4xx, 5xx, timeouts; a timeout counts in the latency', async () => {
    const m = await runLoadStep(
      { target: target.url, requests: [request('/ok'), request('/bad'), request('/boom'), request('/slow'), request('/moved')], timeoutMs: 300 },
      { rate: 50, warmupMs: 0, durationMs: 400 },
    );
    assert.equal(m.scheduled, 20);
    assert.deepEqual(m.errorsByClass, { http_3xx: 4, http_4xx: 4, http_5xx: 4, timeout: 4, connection: 0, overload: 0 });
    assert.equal(m.errors, 16);
    assert.equal(m.errorRate, 0.8);
    assert.ok(m.latency.max >= 300, `the timeouts are in the latency (max ${m.latency.max} ms)`);
    assert.ok(m.errorSamples.some((s) => s.includes('HTTP 404')));
  });

  test('a refused connection is a connection error, and the target is down', async () => {
    const port = await closedPort();
    const m = await runLoadStep({ target: `http://127.0.0.1:${port}`, requests: [request('/ok')] }, { rate: 50, warmupMs: 0, durationMs: 200 });
    assert.equal(m.errorsByClass.connection, m.scheduled);
    assert.match(m.errorSamples[0]!, /ECONNREFUSED/);
    assert.match(judgeStep(m, { p99Ms: 100, maxErrorRate: 0.01 }).targetDown!, /could not connect/);
  });

  test('the probe answers, or says why it cannot connect', async () => {
    const answer = await probeTarget(target.url, request('/bad'), { timeoutMs: 1000 });
    assert.equal(answer.status, 404);
    const port = await closedPort();
    await assert.rejects(probeTarget(`http://127.0.0.1:${port}`, request('/ok'), { timeoutMs: 1000 }), new RegExp(`cannot connect to http://127.0.0.1:${port}: ECONNREFUSED`));
    await assert.rejects(probeTarget(target.url, request('/slow'), { timeoutMs: 200 }), /no answer within 200 ms/);
  });

  test('worker threads split the rate and replay the recording together', async () => {
    target.received.length = 0;
    const recording = [request('/ok?n=0'), request('/ok?n=1'), request('/ok?n=2')];
    const m = await runLoadStep({ target: target.url, requests: recording, workers: 2 }, { rate: 200, warmupMs: 0, durationMs: 500 });
    assert.equal(m.generator.workers, 2);
    assert.equal(m.scheduled, 100);
    assert.equal(m.errors, 0);
    assert.equal(m.latency.count, 100, 'the workers\' histograms are merged');
    const count = (n: number) => target.received.filter((r) => r.url === `/ok?n=${n}`).length;
    assert.deepEqual([count(0), count(1), count(2)], [34, 33, 33]);
  });
});

describe('open loop against a server of known capacity', () => {
  let server: KnownCapacityServer;
  before(async () => {
    server = await startKnownCapacityServer({ slots: 1, serviceTimeMs: 20 });
  });
  after(() => server.close());

  test('an overloaded target does not slow the generator: the queue shows in the latency (no coordinated omission)', async () => {
    assert.equal(server.capacityQps, 50);
    const m = await runLoadStep({ target: server.url, requests: [request('/predict')] }, { rate: 100, warmupMs: 0, durationMs: 1000 });
    assert.ok(m.issuedQps >= 95, `sent at the offered rate (${m.issuedQps}/s) although the target serves 50/s`);
    assert.ok(m.achievedQps <= 60, `the target served ${m.achievedQps}/s`);
    // Half of the requests wait behind the others: the last ones about half a second.
    assert.ok(m.latency.p99 >= 300, `p99 ${m.latency.p99} ms`);
    assert.ok(m.wireLatency.p99 >= 300, 'the waiting happened at the target');
    const judged = judgeStep(m, { p99Ms: 100, maxErrorRate: 0.01 });
    assert.deepEqual([judged.pass, judged.stopper, judged.generatorLimit], [false, 'p99', null]);
  });

  test('the in-flight cap drops requests as overload errors instead of growing without bound', async () => {
    const m = await runLoadStep({ target: server.url, requests: [request('/predict')], maxInFlight: 2 }, { rate: 100, warmupMs: 0, durationMs: 500 });
    assert.ok(m.maxInFlight <= 2);
    assert.ok(m.errorsByClass.overload > 10, `${m.errorsByClass.overload} overload errors`);
    assert.match(m.errorSamples[0]!, /2 requests already in flight/);
  });

  test('too few connections: requests wait inside the generator, and the judgement says so', async () => {
    // 100 QPS to a 200 QPS server through one connection, which carries at most 50 a second.
    const roomy = await startKnownCapacityServer({ slots: 4, serviceTimeMs: 20 });
    try {
      const m = await runLoadStep({ target: roomy.url, requests: [request('/predict')], connections: 1 }, { rate: 100, warmupMs: 0, durationMs: 600 });
      assert.equal(m.connections, 1);
      assert.ok(m.latency.p99 >= 150, `from the scheduled send: ${m.latency.p99} ms`);
      assert.ok(m.wireLatency.p99 < 50, `on the wire: ${m.wireLatency.p99} ms`);
      const judged = judgeStep(m, { p99Ms: 50, maxErrorRate: 0.01 });
      assert.equal(judged.pass, false);
      assert.equal(judged.generatorLimit?.kind, 'concurrency');
      assert.match(judged.generatorLimit!.message, /one of the generator's 1 connections/);
    } finally {
      await roomy.close();
    }
  });
});

describe('known-capacity server', () => {
  test('serves `slots` at a time, the rest in arrival order', async () => {
    const server = await startKnownCapacityServer({ slots: 4, serviceTimeMs: 60 });
    try {
      const started = performance.now();
      const done = await Promise.all(
        Array.from({ length: 12 }, () =>
          fetch(`${server.url}/predict`, { method: 'POST', body: '{}' }).then(async (r) => {
            assert.equal(r.status, 200);
            await r.text();
            return performance.now() - started;
          }),
        ),
      );
      done.sort((a, b) => a - b);
      // Three waves of four: none can finish before its wave's nominal end.
      assert.ok(done[3]! >= 55 && done[4]! >= 115 && done[8]! >= 175, `finish times ${done.map(Math.round).join(', ')}`);
      assert.deepEqual(server.stats().served, 12);
      assert.ok(server.stats().maxQueue >= 1);
    } finally {
      await server.close();
    }
  });

  test('in error mode, requests above the rate are answered 503 at once', async () => {
    const server = await startKnownCapacityServer({ slots: 10, serviceTimeMs: 5, failAboveQps: 40 });
    try {
      const started = performance.now();
      const statuses = await Promise.all(Array.from({ length: 10 }, () => fetch(`${server.url}/predict`).then(async (r) => (await r.text(), r.status))));
      const elapsedMs = performance.now() - started;
      // A twentieth of a second of tokens (2) at once, plus what refilled at 40 a second while the burst arrived.
      const admitted = statuses.filter((s) => s === 200).length;
      const refilled = Math.floor((elapsedMs * 40) / 1000);
      assert.ok(admitted >= 2 && admitted <= 2 + refilled, `${admitted} admitted in ${elapsedMs.toFixed(0)} ms: 2 plus at most ${refilled} refilled`);
      assert.equal(statuses.filter((s) => s === 503).length, 10 - admitted);
      assert.equal(server.stats().rejected, 10 - admitted);
      if (elapsedMs < 100) assert.ok(admitted <= 5, 'a burst well inside a second is mostly refused');
    } finally {
      await server.close();
    }
  });
});
