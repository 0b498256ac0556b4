import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeHistogram, latencyHistogram, recordMs } from '../src/capacity/histogram.js';
import { parseRecordingOrThrow } from '../src/capacity/recording.js';
import { pickArm } from '../src/serving/allocation.js';
import { RegistryAllocationSource } from '../src/serving/allocationSource.js';
import type { ReplicaDirectory } from '../src/serving/executor.js';
import { Router } from '../src/serving/router.js';
import { RouterTraffic, TRAFFIC_BUCKET_MS } from '../src/serving/routerTraffic.js';
import { TrafficSampler } from '../src/serving/trafficSampler.js';
import { kyselyRouterTrafficStore } from '../src/store/routerTrafficRepository.js';
import { REPO_ROOT } from './cliRunner.js';
import { forEachDatabase, sample, seed, TestServer } from './harness.js';

const BIN = join(REPO_ROOT, 'bin', 'modelfleet.js');
const TYPE = 'ig_feed_main_mtml';
const BASELINE = `${TYPE}:v1`;
const EXPERIMENT = `${TYPE}:v2`;
const CANDIDATE = `${TYPE}:v3`;

/** A model server as its own process (the real binary), as executors run replicas. */
interface Replica {
  model: string;
  url: string;
  child: ChildProcess;
}

function startReplica(model: string): Promise<Replica> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const child = spawn(process.execPath, [BIN, 'model-server', '--model', model, '--port', '0', '--workers', '1', '--size', 'small'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        // Wait for /healthz as a router's directory would before calling a replica ready.
        void fetch(`${match[1]}/healthz`).then((r) => (r.ok ? resolve({ model, url: match[1]!, child }) : reject(new Error(`unhealthy: ${r.status}`))), reject);
      }
    });
    child.once('exit', (code) => reject(new Error(`model server ${model} exited with ${code} before listening\n${output}`)));
  });
}

function stopReplica(replica: Replica): Promise<void> {
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    replica.child.once('exit', () => resolve());
    replica.child.kill('SIGKILL');
  });
}

/** A directory tests edit by hand: model id to replica URLs. */
class StaticDirectory implements ReplicaDirectory {
  readonly map = new Map<string, string[]>();
  endpoints(modelId: string): readonly string[] {
    return this.map.get(modelId) ?? [];
  }
}

const predictBody = (user: string) => ({ user: { id: user, features: { country: 'us', follows: 120 } }, candidates: [{ id: 'c1', features: { media: 'video', likes: 40 } }, { id: 'c2', features: { media: 'photo' } }] });

interface Answer {
  status: number;
  model: string | null;
  arm: string | null;
  assigned: string | null;
  body: any;
}

async function rank(url: string, type: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${url}/rank/${type}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  return {
    status: response.status,
    model: response.headers.get('x-modelfleet-model'),
    arm: response.headers.get('x-modelfleet-arm'),
    assigned: response.headers.get('x-modelfleet-assigned'),
    body: text ? JSON.parse(text) : null,
  };
}

/** Runs `count` calls of `task`, `concurrency` at a time. */
async function inParallel<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

/** One metric's value in Prometheus text (0 when absent), matched by name and a subset of its labels. */
function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`gave up waiting ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const replicas: Replica[] = [];
before(async () => {
  // Two replicas of each model, shared by the suites (the models do not depend on the database).
  replicas.push(...(await Promise.all([startReplica(BASELINE), startReplica(BASELINE), startReplica(EXPERIMENT), startReplica(EXPERIMENT)])));
});
after(() => Promise.all(replicas.map(stopReplica)));

const urlsOf = (model: string) => replicas.filter((r) => r.model === model && r.child.exitCode === null && r.child.signalCode === null).map((r) => r.url);

forEachDatabase((db) => {
  describe(`router over real replicas (${db.name})`, () => {
    let server: TestServer;
    let router: Router;
    let traffic: RouterTraffic;
    let sampler: TrafficSampler;
    const directory = new StaticDirectory();
    /** What the test saw answered, per model: the traffic stats must agree exactly. */
    const seen = new Map<string, { requests: number; errors: number }>();
    const suiteStarted = Date.now();

    const send = async (user: string, headers: Record<string, string> = {}, body: unknown = predictBody(user)) => {
      const answer = await rank(router.url, TYPE, body, headers);
      if (answer.model) {
        const tally = seen.get(answer.model) ?? { requests: 0, errors: 0 };
        tally.requests++;
        if (answer.status !== 200) tally.errors++;
        seen.set(answer.model, tally);
      }
      return answer;
    };

    const patchModel = async (id: string, body: Record<string, unknown>) => {
      const current = await server.call('GET', `/models/${encodeURIComponent(id)}`);
      const response = await server.call('PATCH', `/models/${encodeURIComponent(id)}`, { body, headers: { 'if-match': current.headers.get('etag') ?? '' }, contentType: 'application/merge-patch+json' });
      assert.equal(response.status, 200, JSON.stringify(response.body));
    };

    before(async () => {
      server = await TestServer.start(db);
      await seed(server, {
        teams: [sample.team()],
        modelTypes: [sample.modelType(TYPE), sample.modelType('ig_stories_tray_mtml')],
        models: [sample.model(BASELINE, { role: 'baseline', trafficShare: 0.8 }), sample.model(EXPERIMENT, { role: 'experiment', trafficShare: 0.2 })],
      });
      directory.map.set(BASELINE, urlsOf(BASELINE));
      directory.map.set(EXPERIMENT, urlsOf(EXPERIMENT));
      traffic = new RouterTraffic(kyselyRouterTrafficStore(server.fleet.database.db), `test-router-${db.name}`, { flushMs: 200 });
      sampler = new TrafficSampler(server.fleet.recordings, { rate: 0.05, flushRequests: 100_000 });
      router = await Router.start({ allocations: new RegistryAllocationSource(server.fleet.snapshots, server.fleet.registry), replicas: directory, traffic, sampler, refreshMs: 200 });
    });
    after(async () => {
      await router?.close();
      await server?.close();
    });

    it('splits 2000 distinct users by the shares and names the model and arm', async () => {
      const answers = await inParallel(2000, 16, (i) => send(`user-${i}`));
      assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
      const experiment = answers.filter((a) => a.model === EXPERIMENT).length / answers.length;
      assert.ok(Math.abs(experiment - 0.2) < 0.03, `experiment share ${experiment}`);
      for (const answer of answers) {
        assert.equal(answer.arm, answer.model === BASELINE ? 'baseline' : 'experiment');
        assert.equal(answer.body.model, answer.model, 'the replica of the named model answered');
        assert.equal(answer.body.scores.length, 2);
      }
    });

    it('keeps a user in one arm, by header first, else user.id, matching the allocation', async () => {
      const allocation = router.allocation(TYPE)!;
      for (let i = 0; i < 40; i++) {
        const user = `sticky-${i}`;
        const expected = pickArm(allocation, user)!.modelId;
        for (let k = 0; k < 5; k++) assert.equal((await send(user)).model, expected, user);
        // The header wins over the body's user.id.
        const headerUnit = `header-${i}`;
        assert.equal((await send(user, { 'x-modelfleet-unit': headerUnit })).model, pickArm(allocation, headerUnit)!.modelId);
      }
      // A body without user.id goes to some arm, and the replica's own answer (here its 400) comes back as it is.
      const anonymous = await send('', {}, { user: { features: {} }, candidates: [{ id: 'c1', features: {} }] });
      assert.equal(anonymous.status, 400);
      assert.ok(anonymous.model === BASELINE || anonymous.model === EXPERIMENT);
      assert.equal(anonymous.body.error.code, 'invalid_input');
      assert.equal(anonymous.body.error.details[0].path, 'user.id');
    });

    it('follows a share change in the registry, moving only baseline users, and falls back to the baseline for a model without replicas', async () => {
      const users = Array.from({ length: 300 }, (_, i) => `mover-${i}`);
      const before = new Map<string, string>();
      for (const user of users) before.set(user, (await send(user)).model!);
      // The candidate has no replica in the directory: its users must be served by the baseline.
      await patchModel(BASELINE, { trafficShare: 0.4 });
      await patchModel(EXPERIMENT, { trafficShare: 0.5 });
      await seed(server, { models: [sample.model(CANDIDATE, { role: 'candidate', trafficShare: 0.1 })] });
      await waitFor('the router to take the new shares', async () => {
        const arms = router.allocation(TYPE)?.arms ?? [];
        return arms.some((a) => a.modelId === CANDIDATE) && arms.find((a) => a.modelId === EXPERIMENT)?.share === 0.5;
      });
      const allocation = router.allocation(TYPE)!;
      let toExperiment = 0;
      let fallbacks = 0;
      for (const user of users) {
        const answer = await send(user);
        assert.equal(answer.status, 200);
        const arm = pickArm(allocation, user)!;
        if (arm.modelId === CANDIDATE) {
          fallbacks++;
          assert.equal(answer.model, BASELINE, 'a model without replicas falls back to the baseline');
          assert.equal(answer.assigned, CANDIDATE);
          assert.equal(answer.arm, 'candidate');
        } else assert.equal(answer.model, arm.modelId);
        if (before.get(user) === EXPERIMENT) assert.equal(arm.modelId, EXPERIMENT, `${user} stayed in the experiment as it grew`);
        if (before.get(user) === BASELINE && arm.modelId === EXPERIMENT) toExperiment++;
      }
      assert.ok(toExperiment > 0, 'some baseline users moved to the experiment');
      assert.ok(fallbacks > 0, 'some users are in the candidate’s arm');
      const metrics = await (await fetch(`${router.url}/metrics`)).text();
      assert.equal(metricValue(metrics, 'modelfleet_router_fallbacks_total', { model: CANDIDATE }), fallbacks);
    });

    it('loses no request when a replica is killed mid-run: the retry goes to another replica', async () => {
      const victim = await startReplica(BASELINE);
      directory.map.set(BASELINE, [...urlsOf(BASELINE), victim.url]);
      const retriesBefore = metricValue(await (await fetch(`${router.url}/metrics`)).text(), 'modelfleet_router_retries_total');
      let done = 0;
      let killed: Promise<void> | null = null;
      try {
        const answers = await inParallel(800, 12, async (i) => {
          const answer = await send(`kill-${i}`);
          if (++done === 150) killed = stopReplica(victim);
          return answer;
        });
        const failed = answers.filter((a) => a.status !== 200);
        assert.equal(failed.length, 0, `failed: ${JSON.stringify(failed.slice(0, 3))}`);
      } finally {
        await (killed ?? stopReplica(victim));
        directory.map.set(BASELINE, urlsOf(BASELINE));
      }
      const retries = metricValue(await (await fetch(`${router.url}/metrics`)).text(), 'modelfleet_router_retries_total') - retriesBefore;
      assert.ok(retries > 0, 'requests to the dead replica were retried');
    });

    it('answers clearly when it cannot route: unknown type, no live model, wrong method, too large, no replica at all', async () => {
      const unknown = await rank(router.url, 'ig_nope_mtml', predictBody('u1'));
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'not_found');
      assert.match(unknown.body.error.message, /no model type 'ig_nope_mtml' in the registry/);
      const empty = await rank(router.url, 'ig_stories_tray_mtml', predictBody('u1'));
      assert.equal(empty.status, 503);
      assert.match(empty.body.error.message, /has no live model/);
      const wrong = await fetch(`${router.url}/rank/${TYPE}`);
      assert.equal(wrong.status, 405);
      assert.equal(wrong.headers.get('allow'), 'POST');
      await wrong.body?.cancel();
      const big = await rank(router.url, TYPE, JSON.stringify({ user: { id: 'u' }, candidates: [{ id: 'c', features: { bio: 'x'.repeat(1024 * 1024) } }] }));
      assert.equal(big.status, 413);
      assert.equal(big.body.error.code, 'payload_too_large');

      const saved = directory.map.get(BASELINE)!;
      directory.map.set(BASELINE, []);
      try {
        const allocation = router.allocation(TYPE)!;
        const user = Array.from({ length: 100 }, (_, i) => `orphan-${i}`).find((u) => pickArm(allocation, u)!.modelId === CANDIDATE)!;
        const none = await send(user);
        assert.equal(none.status, 503);
        assert.match(none.body.error.message, new RegExp(`model ${CANDIDATE} \\(candidate of ${TYPE}\\) has no ready replica, nor has the baseline ${BASELINE}`));
        assert.equal(none.model, BASELINE, 'the model last tried is named');
        assert.equal(none.assigned, CANDIDATE);
      } finally {
        directory.map.set(BASELINE, saved);
      }
      // Malformed predictions are the replica's to judge; they count as errors of the model that answered.
      for (let i = 0; i < 5; i++) {
        const bad = await send('bad', { 'x-modelfleet-unit': 'bad-unit' }, '{"user": {"id": "bad"}, "candidates": 7}');
        assert.equal(bad.status, 400);
        assert.ok(bad.model);
      }
      const health = await fetch(`${router.url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as any).status, 'ok');
    });

    it('records per-model requests, errors and latency in router_traffic, read back through TrafficStats', async () => {
      await traffic.flush();
      const stats = kyselyRouterTrafficStore(server.fleet.database.db);
      const to = Date.now() + TRAFFIC_BUCKET_MS;
      for (const [model, tally] of seen) {
        const window = await stats.window(model, suiteStarted - TRAFFIC_BUCKET_MS, to);
        assert.equal(window.requests, tally.requests, `${model} requests`);
        assert.equal(window.errors, tally.errors, `${model} errors`);
        assert.ok(window.p50Ms! > 0 && window.p99Ms! >= window.p50Ms!, `${model} p50 ${window.p50Ms} p99 ${window.p99Ms}`);
        assert.ok(window.qps > 0);
      }
      assert.ok(seen.get(BASELINE)!.errors + (seen.get(EXPERIMENT)?.errors ?? 0) >= 5, 'the malformed requests were counted as errors');
      const quiet = await stats.window(CANDIDATE, suiteStarted, to);
      assert.deepEqual([quiet.requests, quiet.p99Ms], [0, null], 'a model that answered nothing has no traffic (its users were served by the baseline)');

      const total = [...seen.values()].reduce((sum, t) => sum + t.requests, 0);
      const peak = (await stats.peakQps(TYPE, suiteStarted - 60_000, to))!;
      const minutes = Math.floor(Date.now() / 60_000) - Math.floor(suiteStarted / 60_000) + 1;
      assert.ok(Math.abs(peak * 60 - Math.round(peak * 60)) < 1e-6, `peak is a whole number of requests per minute: ${peak * 60}`);
      assert.ok(peak * 60 <= total + 1e-9 && peak * 60 >= total / minutes - 1e-9, `peak ${peak * 60}/min of ${total} over ${minutes} minutes`);
      assert.equal(await stats.peakQps('ig_stories_tray_mtml', suiteStarted - 60_000, to), null);
    });

    it('merges buckets’ histograms for percentiles and upserts rewritten buckets', async () => {
      const stats = kyselyRouterTrafficStore(server.fleet.database.db);
      const t0 = 1_700_000_040_000 - (1_700_000_040_000 % 60_000);
      const bucket = (start: number, requests: number, ms: number, errors = 0) => {
        const h = latencyHistogram();
        for (let i = 0; i < requests; i++) recordMs(h, ms);
        return { modelId: 'ig_synthetic_mtml:v1', modelType: 'ig_synthetic_mtml', bucketStart: start, requests, errors, latency: encodeHistogram(h) };
      };
      await stats.write('router-a', [bucket(t0, 100, 1, 1), bucket(t0 + 10_000, 100, 100, 3)]);
      await stats.write('router-a', [bucket(t0, 100, 1, 1)]);
      await stats.write('router-b', [bucket(t0 + 20_000, 50, 1)]);
      await stats.write('router-a', [bucket(t0 + 60_000, 30, 5)]);
      const window = await stats.window('ig_synthetic_mtml:v1', t0, t0 + 60_000);
      assert.equal(window.requests, 250, 'a rewritten bucket replaces its row; other routers add theirs');
      assert.equal(window.errors, 4);
      assert.equal(window.errorRate, 4 / 250);
      assert.equal(window.qps, 250 / 60);
      assert.ok(Math.abs(window.p50Ms! - 1) < 0.01, `p50 ${window.p50Ms}`);
      // 100 of 250 latencies are 100 ms: the merged p99 is 100 ms (an average of the buckets' p99s would be ~34 ms).
      assert.ok(Math.abs(window.p99Ms! - 100) < 1, `p99 ${window.p99Ms}`);
      assert.equal(await stats.peakQps('ig_synthetic_mtml', t0, t0 + 120_000), 250 / 60);
      await stats.deleteBefore(t0 + 60_000);
      assert.equal((await stats.window('ig_synthetic_mtml:v1', t0, t0 + 120_000)).requests, 30);
    });

    it('stores a sample of the traffic as the type’s recording, replayable by capacity estimation', async () => {
      await sampler.flush();
      const recordings = (await server.fleet.recordings.list(TYPE)).filter((r) => r.source === 'router');
      assert.ok(recordings.length >= 1, 'a router recording was stored');
      const requests = recordings.reduce((n, r) => n + r.requests, 0);
      assert.ok(requests > 20, `about 5% of the ${[...seen.values()].reduce((s, t) => s + t.requests, 0)} requests were sampled: ${requests}`);
      for (const recording of recordings) {
        const parsed = parseRecordingOrThrow(await server.fleet.recordings.content(recording.id), recording.name);
        for (const request of parsed) {
          assert.equal(request.path, '/predict');
          const body = JSON.parse(request.body!.toString());
          assert.ok(Array.isArray(body.candidates), 'only well-formed (answered) requests are sampled');
        }
      }
    });
  });
});

describe('modelfleet router (the CLI) over a shared SQLite file', () => {
  let dir = '';
  let server: TestServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'modelfleet-router-'));
    server = await TestServer.start({ name: 'sqlite', freshUrl: () => '', cleanup: async () => {} }, { db: `sqlite:${join(dir, 'fleet.db')}`, dataDir: dir });
    await seed(server, { teams: [sample.team()], modelTypes: [sample.modelType(TYPE)], models: [sample.model(BASELINE, { role: 'baseline', trafficShare: 1 })] });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes to the ready replicas of the replicas table and writes its traffic when stopped', async () => {
    const now = new Date().toISOString();
    const db = server.fleet.database.db;
    // As an executor in the server's process records a replica it started.
    await db.insertInto('replicas').values({ executor: 'local', id: 'r1', model_id: BASELINE, model_type: TYPE, endpoint: urlsOf(BASELINE)[0]!, pid: null, state: 'ready', doc: '{}', created_at: now, updated_at: now }).execute();
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['NODE_TEST_CONTEXT'];
    const child = spawn(process.execPath, [BIN, 'router', '--db', `sqlite:${join(dir, 'fleet.db')}`, '--port', '0', '--sample-rate', '0', '--router-id', 'cli-router'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          output += chunk;
          const match = /listening on (http:\/\/\S+)/.exec(output);
          if (match) resolve(match[1]!);
        });
        void exited.then((code) => reject(new Error(`the router exited with ${code}\n${output}`)));
      });
      for (let i = 0; i < 10; i++) {
        const answer = await rank(url, TYPE, predictBody(`cli-${i}`));
        assert.equal(answer.status, 200, `${JSON.stringify(answer.body)}\n${output}`);
        assert.equal(answer.model, BASELINE);
      }
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
      const window = await kyselyRouterTrafficStore(db).window(BASELINE, Date.now() - 120_000, Date.now() + TRAFFIC_BUCKET_MS);
      assert.equal(window.requests, 10);
      const rows = await db.selectFrom('router_traffic').select('router').distinct().execute();
      assert.deepEqual(rows.map((r) => r.router), ['cli-router']);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
