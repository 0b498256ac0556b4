import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { estimateCapacity, type CapacityEstimate } from '../src/capacity/estimateCapacity.js';
import { startKnownCapacityServer, type KnownCapacityServer } from '../src/capacity/knownCapacityServer.js';
import { maxUsefulWorkers } from '../src/capacity/loadGenerator.js';
import { parseRecordingOrThrow } from '../src/capacity/recording.js';
import { runCli, showRun, type CliResult } from './cliRunner.js';

// Every estimate here runs real servers on ephemeral ports; the command-level cases run the CLI as a
// child process, so the generator and the target live in different processes as they would in use.
// Steps are short (1 s measured after 0.5 s of warm-up) to keep each case well under half a minute.

const dir = mkdtempSync(join(tmpdir(), 'modelfleet-capacity-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const RECORDING = [
  '{"method": "POST", "path": "/predict", "headers": {"x-model": "ig_feed_mtml:1"}, "body": {"features": [0.1, 0.2]}}',
  '{"method": "POST", "path": "/predict", "body": {"features": [0.3]}}',
  '',
  '{"method": "POST", "path": "/predict", "body": {"base64": "AAEC"}}',
].join('\n');
const traffic = file('traffic.ndjson', RECORDING);
const QUICK = ['--step-duration', '1s', '--warmup', '0.5s'];

const estimate = (target: string, args: string[]) => runCli(target, ['capacity', 'estimate', '--target', target, '--traffic', traffic, ...args]);
const parsed = (run: CliResult): CapacityEstimate => {
  assert.ok(run.stdout.trim().startsWith('{'), showRun(run));
  return JSON.parse(run.stdout) as CapacityEstimate;
};
const within = (value: number | null, truth: number, share: number) => value !== null && Math.abs(value - truth) <= truth * share;

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

after(() => rmSync(dir, { recursive: true, force: true }));

describe('capacity estimate against servers of known capacity', () => {
  let known: KnownCapacityServer;
  before(async () => {
    // 3 slots x 20 ms: exactly 150 requests per second.
    known = await startKnownCapacityServer({ slots: 3, serviceTimeMs: 20 });
  });
  after(() => known.close());

  test('lands within 10% of the true capacity, confirmed twice', async () => {
    const args = ['--p99-ms', '50', '--max-error-rate', '0.01', '--start-qps', '40', ...QUICK, '--json'];
    let run = await estimate(known.url, args);
    let result = parsed(run);
    // A machine busy with other work can disturb a one-second step; one retry absorbs that, a real error repeats.
    if (!(result.converged && within(result.maxQps, known.capacityQps, 0.1))) {
      run = await estimate(known.url, args);
      result = parsed(run);
    }
    assert.equal(run.code, 0, showRun(run));
    assert.equal(result.verdict, 'converged');
    assert.equal(result.converged, true);
    assert.ok(within(result.maxQps, 150, 0.1), `estimate ${result.maxQps} QPS, truth 150 QPS\n${run.stdout}`);
    assert.deepEqual(result.stoppers, { p99Ms: 50, maxErrorRate: 0.01 });
    assert.deepEqual(result.traffic, { file: traffic, requests: 3 });
    assert.equal(result.target, known.url);
    const phases = result.steps.map((s) => s.phase);
    assert.equal(phases[0], 'ramp');
    assert.deepEqual(phases.slice(-2), ['confirm', 'confirm']);
    assert.ok(result.steps.some((s) => !s.pass && s.stopper === 'p99'), 'a rate above capacity failed on p99');
    for (const step of result.steps) {
      assert.ok(step.offeredQps > 0 && step.achievedQps >= 0 && step.p50 > 0 && step.p99 >= step.p50);
      assert.equal(typeof step.errorRate, 'number');
    }
  });

  test('a server that sheds load above a rate: the error stopper finds it', async () => {
    // Capacity of 10,000 requests per second, but every request above 100 per second is answered 503.
    const shedding = await startKnownCapacityServer({ slots: 50, serviceTimeMs: 5, failAboveQps: 100 });
    try {
      const args = ['--p99-ms', '100', '--max-error-rate', '0.01', '--start-qps', '30', ...QUICK, '--json'];
      let run = await estimate(shedding.url, args);
      let result = parsed(run);
      if (!(result.converged && within(result.maxQps, 100, 0.1))) {
        run = await estimate(shedding.url, args);
        result = parsed(run);
      }
      assert.equal(run.code, 0, showRun(run));
      assert.ok(within(result.maxQps, 100, 0.1), `estimate ${result.maxQps} QPS, truth 100 QPS\n${run.stdout}`);
      const failed = result.steps.filter((s) => !s.pass);
      assert.ok(failed.length > 0);
      for (const step of failed) {
        assert.equal(step.stopper, 'error_rate', `step ${step.index} at ${step.offeredQps} QPS failed on ${step.stopper}`);
        assert.ok(step.errorsByClass.http_5xx > 0);
      }
    } finally {
      await shedding.close();
    }
  });

  test('--max-qps that holds is reported as "at least", with exit 0', async () => {
    // A p99 stopper far above the 20 ms service time: the point is how a held --max-qps is reported, not where the limit is, and a busy machine must not move it.
    const run = await estimate(known.url, ['--p99-ms', '250', '--max-error-rate', '0.01', '--start-qps', '20', '--max-qps', '40', '--step-duration', '0.5s', '--warmup', '0.2s', '--confirm-duration', '0.5s']);
    assert.equal(run.code, 0, showRun(run));
    assert.match(run.stdout, /STEP\s+PHASE\s+OFFERED\s+ACHIEVED\s+P50\s+P99\s+ERRORS\s+RESULT\s+STOPPER/);
    assert.match(run.stdout, /maximum stable rate: at least 40 QPS, the --max-qps asked for; not a capacity/);
    assert.match(run.stdout, /stoppers: p99 <= 250 ms, error rate <= 1%/);
  });
});

describe('a generator that cannot keep up is reported as such, never as capacity', () => {
  let roomy: KnownCapacityServer;
  before(async () => {
    roomy = await startKnownCapacityServer({ slots: 200, serviceTimeMs: 5 });
  });
  after(() => roomy.close());

  test('one busy thread: generator_bound, no maxQps, exit 1', async () => {
    // 4 ms of client CPU per request: one thread cannot send more than 250 a second.
    const run = await estimate(roomy.url, ['--p99-ms', '100', '--max-error-rate', '0.01', '--start-qps', '100', '--workers', '0', '--client-cost-us', '4000', ...QUICK, '--json']);
    assert.equal(run.code, 1, showRun(run));
    const result = parsed(run);
    assert.equal(result.verdict, 'generator_bound');
    assert.equal(result.maxQps, null);
    assert.equal(result.converged, false);
    const last = result.steps.at(-1)!;
    assert.equal(last.pass, false);
    assert.match(last.generatorLimit!, /sent only|saturated|late/);
    assert.match(result.reason, /no capacity/);
    assert.ok(result.lowerBoundQps === null || result.lowerBoundQps < last.offeredQps);
  });

  test('with workers on auto, more threads are tried before giving up', async () => {
    const requests = parseRecordingOrThrow(RECORDING, 'traffic.ndjson');
    const result = await estimateCapacity({
      target: roomy.url,
      requests,
      stoppers: { p99Ms: 100, maxErrorRate: 0.01 },
      search: { startQps: 100 },
      stepDurationMs: 500,
      warmupMs: 300,
      workers: 'auto',
      clientCostUs: 4000,
    });
    assert.equal(result.verdict, 'generator_bound');
    assert.equal(result.maxQps, null);
    if (maxUsefulWorkers() >= 2) {
      assert.ok(result.workerChanges.length >= 1, 'worker threads were added');
      assert.equal(result.workerChanges[0]!.from, 0);
      assert.ok(result.steps.at(-1)!.workers >= 2);
    }
  });

  test('an in-flight cap too small for the rate: generator_bound with what to raise', async () => {
    const slow = await startKnownCapacityServer({ slots: 100, serviceTimeMs: 20 });
    try {
      const run = await estimate(slow.url, ['--p99-ms', '100', '--max-error-rate', '0.01', '--start-qps', '40', '--max-in-flight', '2', ...QUICK, '--json']);
      assert.equal(run.code, 1, showRun(run));
      const result = parsed(run);
      assert.equal(result.verdict, 'generator_bound');
      assert.equal(result.maxQps, null);
      assert.match(result.reason, /cap of 2 requests in flight.*--max-in-flight/);
    } finally {
      await slow.close();
    }
  });
});

describe('capacity estimate: bad inputs', () => {
  let known: KnownCapacityServer;
  before(async () => {
    known = await startKnownCapacityServer({ slots: 2, serviceTimeMs: 5 });
  });
  after(() => known.close());
  const stoppers = ['--p99-ms', '50', '--max-error-rate', '0.01'];

  test('an unreachable target: cannot connect, exit 1', async () => {
    const port = await closedPort();
    const target = `http://127.0.0.1:${port}`;
    const run = await estimate(target, stoppers);
    assert.equal(run.code, 1, showRun(run));
    assert.match(run.stderr, new RegExp(`cannot connect to ${target}: ECONNREFUSED`));
    assert.equal(run.stdout, '');
  });

  test('a target that answers the first request with an error is named before any load', async () => {
    const notFound = createServer((_req, res) => res.writeHead(404).end('no such route'));
    await new Promise<void>((resolve) => notFound.listen(0, '127.0.0.1', resolve));
    try {
      const run = await estimate(`http://127.0.0.1:${(notFound.address() as AddressInfo).port}`, stoppers);
      assert.equal(run.code, 1, showRun(run));
      assert.match(run.stderr, /answered 404 to the recording's first request \(POST \/predict\)/);
      assert.match(run.stderr, /no such route/);
    } finally {
      notFound.close();
    }
  });

  test('an empty recording, a missing one, a malformed one with its line numbers: exit 2', async () => {
    const empty = file('empty.ndjson', '\n\n');
    let run = await runCli(known.url, ['capacity', 'estimate', '--target', known.url, '--traffic', empty, ...stoppers]);
    assert.equal(run.code, 2, showRun(run));
    assert.match(run.stderr, /holds no requests/);

    run = await runCli(known.url, ['capacity', 'estimate', '--target', known.url, '--traffic', join(dir, 'absent.ndjson'), ...stoppers]);
    assert.equal(run.code, 2, showRun(run));
    assert.match(run.stderr, /cannot read --traffic .*absent\.ndjson: no such file/);

    const broken = file('broken.ndjson', ['{"method": "POST", "path": "/predict"}', '{"method": "POST", "path": ', '{"method": "FETCH", "path": "/predict"}', '{"path": "predict"}'].join('\n'));
    run = await runCli(known.url, ['capacity', 'estimate', '--target', known.url, '--traffic', broken, ...stoppers]);
    assert.equal(run.code, 2, showRun(run));
    assert.match(run.stderr, /has 3 bad lines/);
    assert.match(run.stderr, /broken\.ndjson:2: not valid JSON/);
    assert.match(run.stderr, /broken\.ndjson:3: method/);
    assert.match(run.stderr, /broken\.ndjson:4: path: path starts with \//);
  });

  test('impossible stoppers and search settings are each named: exit 2, and nothing is sent', async () => {
    const before = known.stats().received;
    const run = await estimate(known.url, ['--p99-ms', '0', '--max-error-rate', '1', '--tolerance', '0', '--start-qps', '100', '--max-qps', '50', '--step-duration', '5']);
    assert.equal(run.code, 2, showRun(run));
    assert.match(run.stderr, /5 bad options/);
    assert.match(run.stderr, /--p99-ms: 0: must be above 0/);
    assert.match(run.stderr, /--max-error-rate: 1: must be at least 0 and below 1/);
    assert.match(run.stderr, /--tolerance: 0: must be above 0 and at most 0\.5/);
    assert.match(run.stderr, /--max-qps: 50 is below --start-qps 100/);
    assert.match(run.stderr, /--step-duration: '5' is not a duration: write it with a unit/);
    assert.equal(known.stats().received, before);
  });

  test('a missing stopper or a bad target URL is bad usage: exit 2', async () => {
    let run = await runCli(known.url, ['capacity', 'estimate', '--target', known.url, '--traffic', traffic, '--p99-ms', '50']);
    assert.equal(run.code, 2, showRun(run));
    assert.match(run.stderr, /required option '--max-error-rate <share>' not specified/);
    run = await runCli(known.url, ['capacity', 'estimate', '--target', 'localhost:8500', '--traffic', traffic, ...stoppers]);
    assert.equal(run.code, 2, showRun(run));
    assert.match(run.stderr, /--target 'localhost:8500' is not an http\(s\) URL/);
  });
});
