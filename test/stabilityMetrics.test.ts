import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Accumulator } from '../src/stability/accumulator.js';
import { metricsOf } from '../src/stability/metrics.js';
import { createRng } from '../src/sim/random.js';
import { forEachDatabase, ManualClock, sample, seed, TestServer } from './harness.js';

/**
 * GET /metrics against what was ingested: the prediction counters hold exactly the accepted events'
 * sums (so calibration and NE computed from them in PromQL equal modelfleet's own), the gauges follow
 * thresholds, verdicts and the registry, and launches show by phase.
 */

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-24T14:00:30Z');
const TYPE = 'ig_feed_main_mtml';
const V1 = `${TYPE}:v1`;
const V2 = `${TYPE}:v2`;
const PLIKE_THRESHOLDS = { calibration: { min: 0.9, max: 1.1 }, neMax: 0.95, minPositives: 100 };
const PCOMMENT_THRESHOLDS = { calibration: { min: 0.8, max: 1.25 }, neMax: 0.99 };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads prom-client's text exposition: one `name{label="value",...} number` per sample line. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const raw = match[3]!;
    samples.push({ name: match[1]!, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return samples;
}

async function scrape(server: TestServer): Promise<Sample[]> {
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.status, 200);
  return parseExposition(await response.text());
}

function series(samples: Sample[], name: string, labels: Record<string, string>): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The one sample of `name` with `labels`; fails when there is none or several. */
function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = series(samples, name, labels);
  assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]!.value;
}

function closeTo(actual: number, expected: number, what: string, tolerance = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(Math.abs(expected), 1e-300), `${what}: ${actual} vs ${expected}`);
}

interface Event {
  model: string;
  task: string;
  p: number;
  y: 0 | 1;
  ts: number;
  w: number;
}

/** Counters of one (model, task) as PromQL sees them. */
function counters(samples: Sample[], model: string, task: string) {
  const labels = { model, task, model_type: TYPE };
  return {
    count: value(samples, 'modelfleet_predictions_total', labels),
    weight: value(samples, 'modelfleet_prediction_weight_total', labels),
    score: value(samples, 'modelfleet_prediction_score_weighted_total', labels),
    label: value(samples, 'modelfleet_prediction_label_weighted_total', labels),
    logLoss: value(samples, 'modelfleet_prediction_log_loss_weighted_total', labels),
  };
}

/** Calibration and NE as the documented PromQL computes them from counter increases (here: from 0). */
function fromCounters(c: ReturnType<typeof counters>): { calibration: number; ne: number } {
  const ctr = c.label / c.weight;
  const entropy = -(ctr * Math.log(ctr) + (1 - ctr) * Math.log(1 - ctr));
  return { calibration: c.score / c.label, ne: c.logLoss / c.weight / entropy };
}

const types = [sample.modelType(TYPE, 'feed-ranking')];
const models = [
  { id: V1, role: 'baseline', trafficShare: 0.9, thresholds: { PLIKE: PLIKE_THRESHOLDS, PCOMMENT: PCOMMENT_THRESHOLDS } },
  { id: V2, role: 'experiment', trafficShare: 0.1, thresholds: { PLIKE: PLIKE_THRESHOLDS } },
];

forEachDatabase((db) => {
  describe(`prediction counters on /metrics (${db.name})`, () => {
    const clock = new ManualClock(T0);
    let server: TestServer;
    const expected = new Map<string, Accumulator>();
    const rng = createRng(11);

    before(async () => {
      server = await TestServer.start(db, { clock, launch: { autoStart: false, local: false } });
      await seed(server, { teams: [sample.team()], modelTypes: types, models });
    });
    after(() => server.close());

    function expect(events: readonly Event[]): void {
      for (const e of events) {
        const key = `${e.model}|${e.task}`;
        if (!expected.has(key)) expected.set(key, new Accumulator());
        expected.get(key)!.add(e.p, e.y, e.w);
      }
    }

    /** Random events, with p at 0 and 1 now and then so the log loss's clamping is exercised. */
    function events(model: string, task: string, n: number, weighted: boolean): Event[] {
      return Array.from({ length: n }, () => {
        const p = rng.chance(0.02) ? rng.pick([0, 1]) : rng.float(0.001, 0.6);
        return { model, task, p, y: rng.chance(p * 0.9 + 0.01) ? 1 : 0, ts: clock.epochMs - rng.int(0, 50 * MINUTE), w: weighted ? rng.float(0.1, 20) : 1 };
      });
    }

    it('starts every live (model, task) at 0, so increase() counts the first batch', async () => {
      const samples = await scrape(server);
      for (const model of [V1, V2]) {
        for (const task of ['PLIKE', 'PCOMMENT']) assert.deepEqual(counters(samples, model, task), { count: 0, weight: 0, score: 0, label: 0, logLoss: 0 });
      }
      assert.deepEqual(series(samples, 'modelfleet_predictions_total', {}).length, 4, 'one series per live model and task, no more');
    });

    it('holds exactly the sums of events accepted as NDJSON and as columnar batches', async () => {
      const ndjson = [...events(V1, 'PLIKE', 400, true), ...events(V1, 'PCOMMENT', 300, false), ...events(V2, 'PLIKE', 200, true)];
      const sent = await server.call('POST', '/events', { raw: ndjson.map((e) => JSON.stringify(e)).join('\n'), contentType: 'application/x-ndjson', headers: { 'idempotency-key': 'batch-1' } });
      assert.deepEqual([sent.status, sent.body.accepted, sent.body.rejected], [200, ndjson.length, 0], JSON.stringify(sent.body));
      expect(ndjson);

      const unweighted = events(V1, 'PLIKE', 500, false);
      const weighted = events(V2, 'PCOMMENT', 300, true);
      const columnar = [unweighted, weighted].map((batch) => ({
        model: batch[0]!.model,
        task: batch[0]!.task,
        p: batch.map((e) => e.p),
        y: batch.map((e) => e.y),
        ts: batch.map((e) => e.ts),
        ...(batch === weighted ? { w: batch.map((e) => e.w) } : {}),
      }));
      const sentColumns = await server.call('POST', '/events', { body: columnar });
      assert.deepEqual([sentColumns.status, sentColumns.body.accepted, sentColumns.body.rejected], [200, 800, 0], JSON.stringify(sentColumns.body));
      expect([...unweighted, ...weighted]);

      const samples = await scrape(server);
      for (const [key, acc] of expected) {
        const [model, task] = key.split('|') as [string, string];
        const c = counters(samples, model, task);
        const m = metricsOf(acc);
        assert.equal(c.count, acc.count, `${key} count`);
        closeTo(c.weight, acc.weight, `${key} weight`);
        closeTo(c.score, acc.weightedP, `${key} weighted score`);
        closeTo(c.label, acc.positives, `${key} weighted labels`);
        closeTo(c.logLoss, acc.weightedLogLoss, `${key} weighted log loss`);
        const derived = fromCounters(c);
        closeTo(derived.calibration, m.calibration!, `${key} calibration`);
        closeTo(derived.ne, m.ne!, `${key} NE`);
      }
    });

    it('agrees with the stability API over the same window', async () => {
      clock.set(T0 - (T0 % MINUTE) + MINUTE);
      await server.fleet.monitor.tick();
      const report = (await server.call('GET', `/models/${encodeURIComponent(V1)}/stability`)).body;
      const current = report.current;
      assert.ok(current, JSON.stringify(report).slice(0, 500));
      const samples = await scrape(server);
      for (const task of ['PLIKE', 'PCOMMENT']) {
        const judged = current.tasks.find((t: { task: string }) => t.task === task);
        const derived = fromCounters(counters(samples, V1, task));
        closeTo(derived.calibration, judged.metrics.calibration, `${task} calibration against the monitor's`);
        closeTo(derived.ne, judged.metrics.ne, `${task} NE against the monitor's`);
      }
    });

    it('adds nothing for a replayed Idempotency-Key, rejected events or a malformed batch', async () => {
      const before = await scrape(server);
      const replayBody = events(V1, 'PLIKE', 3, false);
      const first = await server.call('POST', '/events', { raw: replayBody.map((e) => JSON.stringify(e)).join('\n'), contentType: 'application/x-ndjson', headers: { 'idempotency-key': 'batch-2' } });
      assert.equal(first.body.accepted, 3);
      expect(replayBody);
      const replay = await server.call('POST', '/events', { raw: replayBody.map((e) => JSON.stringify(e)).join('\n'), contentType: 'application/x-ndjson', headers: { 'idempotency-key': 'batch-2' } });
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');

      const now = clock.epochMs - 1000;
      const rejected = [
        { model: V1, task: 'PFOLLOW', p: 0.5, y: 1, ts: now },
        { model: V1, task: 'PLIKE', p: 1.5, y: 1, ts: now },
        { model: V1, task: 'PLIKE', p: 0.5, y: 1, ts: now - 3 * 60 * MINUTE },
        { model: `${TYPE}:v9`, task: 'PLIKE', p: 0.5, y: 1, ts: now },
        { model: V2, task: 'PLIKE', p: 0.5, y: 2, ts: now },
      ];
      const refused = await server.call('POST', '/events', { raw: rejected.map((e) => JSON.stringify(e)).join('\n'), contentType: 'application/x-ndjson' });
      assert.deepEqual([refused.body.accepted, refused.body.rejected], [0, rejected.length]);
      const malformed = await server.call('POST', '/events', { body: { model: V1, task: 'PLIKE', p: [0.1, 0.2], y: [1], ts: now } });
      assert.equal(malformed.status, 400);

      const samplesAfter = await scrape(server);
      for (const model of [V1, V2]) {
        for (const task of ['PLIKE', 'PCOMMENT']) {
          const was = counters(before, model, task);
          const is = counters(samplesAfter, model, task);
          if (model === V1 && task === 'PLIKE') {
            assert.equal(is.count, was.count + 3, 'the first send of batch-2 counts, its replay does not');
            closeTo(is.weight, expected.get(`${V1}|PLIKE`)!.weight, 'V1 PLIKE weight');
            closeTo(is.logLoss, expected.get(`${V1}|PLIKE`)!.weightedLogLoss, 'V1 PLIKE log loss');
          } else assert.deepEqual(is, was, `${model} ${task} unchanged`);
        }
      }
    });
  });

  describe(`threshold and verdict gauges on /metrics (${db.name})`, () => {
    const clock = new ManualClock(T0);
    let server: TestServer;

    before(async () => {
      server = await TestServer.start(db, { clock, launch: { autoStart: false, local: false } });
      await seed(server, { teams: [sample.team()], modelTypes: types, models });
    });
    after(() => server.close());

    it("shows each live task's thresholds, and nothing for a task without them", async () => {
      const samples = await scrape(server);
      for (const [model, task, t] of [[V1, 'PLIKE', PLIKE_THRESHOLDS], [V1, 'PCOMMENT', PCOMMENT_THRESHOLDS], [V2, 'PLIKE', PLIKE_THRESHOLDS]] as const) {
        const labels = { model, model_type: TYPE, task };
        assert.equal(value(samples, 'modelfleet_task_calibration_min', labels), t.calibration.min);
        assert.equal(value(samples, 'modelfleet_task_calibration_max', labels), t.calibration.max);
        assert.equal(value(samples, 'modelfleet_task_ne_max', labels), t.neMax);
      }
      assert.equal(series(samples, 'modelfleet_task_ne_max', { model: V2, task: 'PCOMMENT' }).length, 0);
      assert.equal(series(samples, 'modelfleet_model_stable', {}).length, 0, 'no verdict before the first evaluation');
    });

    it('follows the monitor: 1 for a stable model, 0 for an unstable one, absent for a task with too little data', async () => {
      // Weighted events give the ~900 positives the band needs in few lines. One positive in five, at
      // p = 0.5 for positives and 0.125 for negatives: calibration 1, NE 0.49. Twice those p: calibration 2.
      const lines: string[] = [];
      for (let i = 0; i < 200; i++) {
        const ts = clock.epochMs - 1000 - i * 100;
        const y = i % 5 === 0 ? 1 : 0;
        const p = y ? 0.5 : 0.125;
        lines.push(JSON.stringify({ model: V1, task: 'PLIKE', p, y, ts, w: 50 }), JSON.stringify({ model: V2, task: 'PLIKE', p: 2 * p, y, ts, w: 50 }));
      }
      const sent = await server.call('POST', '/events', { raw: lines.join('\n'), contentType: 'application/x-ndjson' });
      assert.equal(sent.body.accepted, lines.length, JSON.stringify(sent.body));
      clock.set(T0 - (T0 % MINUTE) + MINUTE);
      const tick = await server.fleet.monitor.tick();
      assert.deepEqual(tick.evaluations.map((e) => [e.modelId, e.status]), [[V1, 'stable'], [V2, 'unstable']]);

      const samples = await scrape(server);
      assert.equal(value(samples, 'modelfleet_model_stable', { model: V1, model_type: TYPE, tier: 'TIER2', team: 'feed-ranking', role: 'baseline' }), 1);
      assert.equal(value(samples, 'modelfleet_model_stable', { model: V2, model_type: TYPE, tier: 'TIER2', team: 'feed-ranking', role: 'experiment' }), 0);
      assert.equal(value(samples, 'modelfleet_task_stable', { model: V1, task: 'PLIKE' }), 1);
      assert.equal(value(samples, 'modelfleet_task_stable', { model: V2, task: 'PLIKE' }), 0);
      assert.equal(series(samples, 'modelfleet_task_stable', { model: V1, task: 'PCOMMENT' }).length, 0, 'no events: insufficient data, no sample');
      // Calibration from the counters shows the same miss the monitor judged.
      closeTo(fromCounters(counters(samples, V2, 'PLIKE')).calibration, 2, 'V2 calibration');
    });

    it('drops every series of a retired model at once', async () => {
      const ended = await server.call('POST', `/models/${encodeURIComponent(V2)}/end-experiment`);
      assert.equal(ended.status, 200, JSON.stringify(ended.body));
      const samples = await scrape(server);
      assert.deepEqual(
        samples.filter((s) => s.labels['model'] === V2).map((s) => s.name),
        [],
        'no gauge or counter of the retired model',
      );
      assert.equal(value(samples, 'modelfleet_model_stable', { model: V1 }), 1);
      assert.equal(series(samples, 'modelfleet_predictions_total', {}).length, 2, "the live model's two tasks");
    });

    it('stops showing verdicts that are no longer being renewed (another server took over evaluating)', async () => {
      clock.advance(10 * MINUTE);
      const samples = await scrape(server);
      assert.equal(series(samples, 'modelfleet_model_stable', {}).length, 0);
      assert.equal(series(samples, 'modelfleet_task_stable', {}).length, 0);
      assert.equal(series(samples, 'modelfleet_task_ne_max', { model: V1 }).length, 2, 'thresholds stay: they come from the registry');
    });
  });

  describe(`launch gauges on /metrics (${db.name})`, () => {
    const clock = new ManualClock(T0);
    let server: TestServer;

    before(async () => {
      server = await TestServer.start(db, { clock, launch: { autoStart: false, local: false, simulated: { startupMs: 20_000, demandQps: () => 300 } } });
      await seed(server, {
        teams: [sample.team()],
        modelTypes: types,
        models: [
          sample.model(V1, { role: 'baseline', trafficShare: 0.9, capacity: { maxQpsPerReplica: 100, replicas: 4, unitCost: 1 } }),
          sample.model(V2, { role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 130, replicas: 0, unitCost: 1 } }),
        ],
      });
    });
    after(() => server.close());

    it('counts unfinished launches by phase and shows their traffic shares, until they finish', async () => {
      const idle = await scrape(server);
      assert.ok(series(idle, 'modelfleet_launches', {}).length > 0);
      assert.ok(series(idle, 'modelfleet_launches', {}).every((s) => s.value === 0));
      assert.equal(series(idle, 'modelfleet_launch_traffic_share', {}).length, 0);

      const started = await server.call('POST', '/launches', { body: { modelType: TYPE, candidate: V2, executor: 'simulated', peakQps: 300, bakeSeconds: 60 } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const id = started.body.id as string;
      for (let i = 0; i < 12; i++) {
        await server.fleet.launchEngine.tick();
        clock.advance(5000);
      }
      const launch = (await server.call('GET', `/launches/${id}`)).body;
      assert.ok(!['completed', 'rolled_back', 'aborted', 'failed'].includes(launch.phase), launch.phase);
      const samples = await scrape(server);
      assert.equal(value(samples, 'modelfleet_launches', { phase: launch.phase }), 1);
      assert.equal(series(samples, 'modelfleet_launches', {}).reduce((a, s) => a + s.value, 0), 1);
      assert.equal(value(samples, 'modelfleet_launch_traffic_share', { launch: id, model_type: TYPE, model: V2 }), launch.traffic.candidate);
      assert.equal(value(samples, 'modelfleet_launch_traffic_share', { launch: id, model_type: TYPE, model: V1 }), launch.traffic.baseline);

      const aborted = await server.call('POST', `/launches/${id}/abort`, { body: { reason: 'test' } });
      assert.ok(aborted.status < 300, JSON.stringify(aborted.body));
      for (let i = 0; i < 60; i++) {
        const now = (await server.call('GET', `/launches/${id}`)).body;
        if (['rolled_back', 'aborted', 'failed'].includes(now.phase)) break;
        await server.fleet.launchEngine.tick();
        clock.advance(5000);
      }
      const done = await scrape(server);
      assert.ok(series(done, 'modelfleet_launches', {}).every((s) => s.value === 0));
      assert.equal(series(done, 'modelfleet_launch_traffic_share', {}).length, 0);
    });
  });
});
