import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateArtifact, saveArtifact } from '../src/serving/modelArtifact.js';
import { startModelServer, type RunningModelServer } from '../src/serving/modelServer.js';
import { parsePredictRequest, Scorer } from '../src/serving/scorer.js';
import { REPO_ROOT } from './cliRunner.js';

const MODEL = 'ig_feed_mtml:v3';
const BIN = join(REPO_ROOT, 'bin', 'modelfleet.js');

const predictBody = (candidates: number) => ({
  user: { id: 'u1', features: { country: 'us', age_bucket: '25-34', follows: 812, interests: ['cats', 'travel'] } },
  candidates: Array.from({ length: candidates }, (_, i) => ({ id: `c${i}`, features: { author: `a${i % 7}`, media: ['photo', 'video', 'reel'][i % 3]!, likes: i * 37 } })),
});

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

/** One metric's value in Prometheus text, matched by name and (a subset of) its labels. */
function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  assert.ok(line, `${name} ${JSON.stringify(labels)} in\n${text}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('model server in process', () => {
  let server: RunningModelServer;
  before(async () => (server = await startModelServer({ model: MODEL, size: 'small' })));
  after(() => server.close());

  it('scores candidates with the artifact: the answer is the scorer’s', async () => {
    const body = predictBody(25);
    const answer = await post(server.url, body);
    assert.equal(answer.status, 200);
    assert.deepEqual(Object.keys(answer.body), ['model', 'scores', 'tookMs']);
    assert.equal(answer.body.model, MODEL);
    assert.ok(typeof answer.body.tookMs === 'number' && answer.body.tookMs >= 0);
    const expected = new Scorer(generateArtifact({ model: MODEL, size: 'small' })).score(parsePredictRequest(body)).scores;
    assert.deepEqual(answer.body.scores, expected);
  });

  it('answers /healthz with the model and its tasks', async () => {
    const response = await fetch(`${server.url}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok', model: MODEL, tasks: ['PLIKE', 'PCOMMENT', 'PFOLLOW'], pid: process.pid });
  });

  it('counts requests, candidates and cost at /metrics', async () => {
    const before = await (await fetch(`${server.url}/metrics`)).text();
    const scored = () => (before.includes('modelfleet_model_server_candidates_scored_total{') ? metricValue(before, 'modelfleet_model_server_candidates_scored_total') : 0);
    const start = scored();
    for (const n of [3, 40]) assert.equal((await post(server.url, predictBody(n))).status, 200);
    assert.equal((await post(server.url, '{not json')).status, 400);
    const response = await fetch(`${server.url}/metrics`);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.equal(metricValue(text, 'modelfleet_model_server_candidates_scored_total', { model: MODEL }), start + 43);
    assert.ok(metricValue(text, 'modelfleet_model_server_requests_total', { route: 'predict', status: '200' }) >= 2);
    assert.ok(metricValue(text, 'modelfleet_model_server_requests_total', { route: 'predict', status: '400' }) >= 1);
    assert.ok(metricValue(text, 'modelfleet_model_server_request_duration_seconds_count', { route: 'predict' }) >= 3);
    assert.ok(metricValue(text, 'modelfleet_model_server_multiply_adds_total') > 0);
    assert.equal(metricValue(text, 'modelfleet_model_server_artifact_info', { tasks: 'PLIKE,PCOMMENT,PFOLLOW', hidden: '64,32' }), 1);
  });

  it('answers bad JSON with 400 and what is wrong', async () => {
    const answer = await post(server.url, '{"user": ');
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.code, 'invalid_input');
    assert.match(answer.body.error.message, /^the body is not valid JSON: /);
    assert.equal(answer.body.error.details[0].path, '(body)');
    const empty = await post(server.url, '');
    assert.equal(empty.status, 400);
    assert.match(empty.body.error.message, /the body is empty/);
  });

  it('answers a bad request with 400 naming each field', async () => {
    const body = predictBody(2) as any;
    body.candidates[1].features.media = { kind: 'reel' };
    body.user.idd = 'typo';
    const answer = await post(server.url, body);
    assert.equal(answer.status, 400);
    assert.deepEqual(
      answer.body.error.details.map((d: { path: string }) => d.path),
      ['user.idd', 'candidates[1].features.media'],
    );
    assert.match(answer.body.error.details[0].message, /unknown field 'idd' \(did you mean 'id'\?\)/);
  });

  it('refuses more than 2000 candidates with 400 on candidates', async () => {
    const answer = await post(server.url, { user: { id: 'u' }, candidates: Array.from({ length: 2001 }, (_, i) => ({ id: `c${i}` })) });
    assert.equal(answer.status, 400);
    assert.deepEqual(answer.body.error.details, [{ path: 'candidates', message: 'at most 2000 candidates per request: split the candidates over several requests' }]);
  });

  it('refuses a body over 4 MiB with 413, whether its length is declared or streamed', async () => {
    const big = JSON.stringify({ user: { id: 'u' }, candidates: Array.from({ length: 1500 }, (_, i) => ({ id: `c${i}`, features: { bio: 'x'.repeat(250), a: 'y'.repeat(250), b: 'z'.repeat(250), c: 'w'.repeat(250), d: 'v'.repeat(250), e: 'u'.repeat(250), f: 't'.repeat(250), g: 's'.repeat(250), h: 'r'.repeat(250), i: 'q'.repeat(250), j: 'p'.repeat(250), k: 'o'.repeat(250) } })) });
    assert.ok(big.length > 4 * 1024 * 1024);
    const declared = await post(server.url, big);
    assert.equal(declared.status, 413);
    assert.equal(declared.body.error.code, 'payload_too_large');
    assert.match(declared.body.error.message, /at most 4194304 \(4 MiB\)/);
    const bytes = Buffer.from(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 256 * 1024) controller.enqueue(bytes.subarray(i, i + 256 * 1024));
        controller.close();
      },
    });
    const streamed = await fetch(`${server.url}/predict`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.equal(((await streamed.json()) as any).error.code, 'payload_too_large');
    assert.equal((await post(server.url, predictBody(1))).status, 200, 'still serving');
  });

  it('answers unknown routes with 404 and wrong methods with 405', async () => {
    const missing = await fetch(`${server.url}/score`, { method: 'POST', body: '{}' });
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as any).error.message, /answers POST \/predict, GET \/healthz and GET \/metrics/);
    const wrong = await fetch(`${server.url}/predict`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    await wrong.body?.cancel();
  });
});

describe('model server artifacts', () => {
  let dir = '';
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'modelfleet-model-server-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('serves an artifact file, and refuses one of another model', async () => {
    const artifact = generateArtifact({ model: 'ig_reels_mtml:v1', tasks: ['PLIKE', 'PSHARE'], featureDim: 512, embeddingDim: 8, hidden: [16] });
    const file = join(dir, 'reels.json');
    await saveArtifact(file, artifact);
    const server = await startModelServer({ model: 'ig_reels_mtml:v1', artifact: file });
    try {
      const answer = await post(server.url, predictBody(3));
      assert.deepEqual(Object.keys(answer.body.scores[0]), ['id', 'PLIKE', 'PSHARE']);
      assert.deepEqual(answer.body.scores, new Scorer(artifact).score(parsePredictRequest(predictBody(3))).scores);
    } finally {
      await server.close();
    }
    await assert.rejects(startModelServer({ model: MODEL, artifact: file }), /artifact .*reels\.json holds model ig_reels_mtml:v1, not ig_feed_mtml:v3/);
    await assert.rejects(startModelServer({ model: 'ig_reels_mtml:v1', artifact: file, size: 'large' }), /size describe a generated artifact and cannot be combined with an artifact/);
  });

  it('serves an in-memory artifact from two cluster workers', async () => {
    const artifact = generateArtifact({ model: 'ig_reels_mtml:v2', size: 'small', seed: 11 });
    const server = await startModelServer({ model: 'ig_reels_mtml:v2', artifact, workers: 2 });
    try {
      assert.equal(server.workers, 2);
      const answer = await post(server.url, predictBody(4));
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.scores, new Scorer(artifact).score(parsePredictRequest(predictBody(4))).scores);
    } finally {
      await server.close();
    }
  });
});

/** `GET /healthz` on a new connection each time, so the cluster can hand it to any worker. */
function healthOnNewConnection(url: string): Promise<{ pid: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/healthz`, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Distinct pids answering /healthz over a number of new connections. */
async function answeringPids(url: string, tries = 40): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < tries; i++) pids.add((await healthOnNewConnection(url)).pid);
  return pids;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The CLI as a long-running child; resolves with its URL once it prints that it listens. */
function startCli(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string; exited: Promise<number | null> }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve({ child, url: match[1]!, output: () => `--- stdout\n${stdout}\n--- stderr\n${stderr}`, exited });
    });
    void exited.then((code) => reject(new Error(`the model server exited with ${code} before listening\n${stdout}\n${stderr}`)));
  });
}

describe('modelfleet model-server (the CLI)', () => {
  it('--workers 2: both workers answer, metrics cover both, a killed worker is replaced, SIGTERM stops all cleanly', async () => {
    const { child, url, output, exited } = await startCli(['model-server', '--model', MODEL, '--port', '0', '--workers', '2', '--size', 'small']);
    try {
      assert.match(output(), /listening on http:\/\/127\.0\.0\.1:\d+ \(2 workers\)/);
      const workers = await answeringPids(url);
      assert.equal(workers.size, 2, `two workers answer: ${[...workers].join(', ')}`);
      assert.ok(!workers.has(child.pid!), 'the primary serves nothing itself');

      for (let i = 0; i < 6; i++) assert.equal((await post(url, predictBody(5))).status, 200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      // Whichever worker answers the scrape, it reports the whole server.
      assert.equal(metricValue(metrics, 'modelfleet_model_server_candidates_scored_total'), 30);
      assert.ok(metricValue(metrics, 'modelfleet_model_server_requests_total', { route: 'healthz', status: '200' }) >= 40);
      assert.equal(metricValue(metrics, 'modelfleet_model_server_artifact_info', { hidden: '64,32' }), 1, 'artifact gauges are not summed over workers');

      const [victim] = [...workers];
      process.kill(victim!, 'SIGKILL');
      let now = new Set<number>();
      for (let attempt = 0; attempt < 100 && !(now.size === 2 && !now.has(victim!)); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        now = await answeringPids(url, 10);
      }
      assert.equal(now.size, 2, `two workers again: ${[...now].join(', ')}\n${output()}`);
      assert.ok(!now.has(victim!), 'the killed worker was replaced');
      assert.match(output(), new RegExp(`worker ${victim} exited \\(SIGKILL\\); starting another`));

      child.kill('SIGTERM');
      assert.equal(await exited, 0, output());
      for (const pid of now) assert.equal(isAlive(pid), false, `worker ${pid} stopped with the primary`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('--write-artifact writes the artifact it would serve, and --artifact serves it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelfleet-model-server-cli-'));
    try {
      const file = join(dir, 'feed.json');
      const written = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'model-server', '--model', MODEL, '--write-artifact', file, '--tasks', 'PLIKE,PSHARE', '--size', 'small'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        child.on('exit', (code) => resolve({ code, stdout }));
      });
      assert.equal(written.code, 0);
      assert.match(written.stdout, /^wrote .*feed\.json: model ig_feed_mtml:v3, tasks PLIKE, PSHARE, \d+ parameters$/m);

      const { child, url, exited } = await startCli(['model-server', '--model', MODEL, '--port', '0', '--artifact', file]);
      try {
        const answer = await post(url, predictBody(2));
        const expected = new Scorer(generateArtifact({ model: MODEL, tasks: ['PLIKE', 'PSHARE'], size: 'small' })).score(parsePredictRequest(predictBody(2))).scores;
        assert.deepEqual(answer.body.scores, expected);
        child.kill('SIGINT');
        assert.equal(await exited, 0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong with a bad artifact or a missing --port, and exits 1', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'model-server', '--model', MODEL, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        child.on('exit', (code) => resolve({ code, stderr }));
      });
    const missingPort = await run([]);
    assert.equal(missingPort.code, 1);
    assert.match(missingPort.stderr, /--port is required to serve \(0 for any free port\)/);
    const missingFile = await run(['--port', '0', '--artifact', '/nonexistent/feed.json']);
    assert.equal(missingFile.code, 1);
    assert.match(missingFile.stderr, /artifact \/nonexistent\/feed\.json does not exist/);
    const badTasks = await run(['--port', '0', '--tasks', 'like']);
    assert.equal(badTasks.code, 1);
    assert.match(badTasks.stderr, /tasks\[0\]: task names start with 'P'/);
  });
});
