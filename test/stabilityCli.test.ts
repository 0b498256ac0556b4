import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { forEachDatabase, ManualClock, sample, seed, TestServer } from './harness.js';
import { runCli, showRun } from './cliRunner.js';
import { mulberry32 } from '../src/sim/random.js';

const cli = (serverUrl: string, args: string[], input?: string) => runCli(serverUrl, args, input === undefined ? {} : { input });
const show = showRun;


const HOUR = 3_600_000;
const MINUTE = 60_000;
/** A Monday at 00:00 UTC: the history runs through the following 30 hours. */
const T0 = Date.UTC(2026, 0, 5);
const BASELINE = 'ig_feed_main_mtml:v1';
const EXPERIMENT = 'ig_feed_main_mtml:v2';

const event = (model: string, task: string, p: number, y: 0 | 1, ts: number) => JSON.stringify({ model, task, p: Number(p.toFixed(4)), y, ts });

/**
 * An answer-losing proxy: the first attempt of every Idempotency-Key reaches the server, but its answer
 * is replaced by a 503, as when a load balancer times out after the server committed. What a client
 * must then do is retry the same bytes under the same key.
 */
async function lossyProxy(target: string): Promise<{ url: string; keys: string[]; close: () => Promise<void> }> {
  const keys: string[] = [];
  const { hostname, port } = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      const first = !keys.includes(key);
      keys.push(key);
      const upstream = httpRequest({ hostname, port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () => {
          if (first) {
            res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"unavailable","message":"upstream timed out","details":[]}}');
          } else res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(body));
        });
      });
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, keys, close: () => new Promise((done) => server.close(() => done())) };
}

forEachDatabase((db) => {
  describe(`stability commands of the CLI (${db.name})`, () => {
    let server: TestServer;
    let dir: string;
    const clock = new ManualClock(T0);
    before(async () => {
      server = await TestServer.start(db, { clock });
      dir = mkdtempSync(join(tmpdir(), 'mf-stability-cli-'));
      await seed(server, {
        teams: [sample.team()],
        modelTypes: [sample.modelType()],
        models: [sample.model(BASELINE, { role: 'baseline', trafficShare: 0.9 }), sample.model(EXPERIMENT, { role: 'experiment', trafficShare: 0.1 })],
      });
    });
    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('thresholds learn --dry-run without history skips every task and says why', async () => {
      const run = await cli(server.url, ['thresholds', 'learn', EXPERIMENT, '--dry-run']);
      assert.equal(run.code, 0, show(run));
      assert.match(run.stdout, /^SKIPPED$/m);
      assert.match(run.stdout, /^ {2}PLIKE: no hourly windows between .*: nothing to learn from/m);
      assert.match(run.stdout, /^ {2}PCOMMENT: no hourly windows/m);
      assert.match(run.stdout, /nothing learned; the registry is unchanged/);
    });

    it('thresholds learn builds a band from 30 hours of history, skips the sparse task, and writes only without --dry-run', async () => {
      // Lateness is an hour, so each hour's events are sent while the clock is in that hour.
      const rand = mulberry32(42);
      for (let h = 0; h < 30; h++) {
        const start = T0 + h * HOUR;
        clock.set(start + 59 * MINUTE + 30_000);
        const lines: string[] = [];
        for (let i = 0; i < 400; i++) {
          const p = 0.1 + 0.2 * rand();
          lines.push(event(BASELINE, 'PLIKE', p, rand() < p ? 1 : 0, start + Math.floor((i * 59 * MINUTE) / 400)));
        }
        // Two or so comments an hour: far too few positives to learn from.
        for (let i = 0; i < 40; i++) lines.push(event(BASELINE, 'PCOMMENT', 0.05, rand() < 0.05 ? 1 : 0, start + i * MINUTE));
        const response = await server.call('POST', '/events', { raw: lines.join('\n'), contentType: 'application/x-ndjson' });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        assert.equal(response.body.rejected, 0, JSON.stringify(response.body.errors));
      }
      clock.set(T0 + 30 * HOUR + 10 * MINUTE);

      const dry = await cli(server.url, ['thresholds', 'learn', BASELINE, '--dry-run']);
      assert.equal(dry.code, 0, show(dry));
      assert.match(dry.stdout, /^TASK +CALIBRATION +NE_MAX +MIN_POSITIVES +MIN_COUNT +WINDOWS/m);
      assert.match(dry.stdout, /^PLIKE +\d\.\d+\.\.\d\.\d+ +\d\.\d+ +\d+ +\d+ +30 +0 /m);
      assert.match(dry.stdout, /^ {2}PCOMMENT: only 0 healthy hourly windows .*\(of 30: 0 left out as unstable, 30 with fewer than 50 positives/m);
      assert.match(dry.stdout, /dry run: nothing written/);
      assert.deepEqual((await server.call('GET', `/models/${encodeURIComponent(BASELINE)}`)).body.thresholds, {}, 'a dry run writes nothing');

      const real = await cli(server.url, ['thresholds', 'learn', BASELINE, '--json']);
      assert.equal(real.code, 0, show(real));
      const outcome = JSON.parse(real.stdout);
      assert.equal(outcome.dryRun, false);
      assert.deepEqual(Object.keys(outcome.thresholds), ['PLIKE']);
      assert.equal(typeof outcome.change.seq, 'number');
      const model = (await server.call('GET', `/models/${encodeURIComponent(BASELINE)}`)).body;
      assert.equal(model.thresholds.PLIKE.source, 'learned');
      assert.ok(model.thresholds.PLIKE.calibration.min < 1 && model.thresholds.PLIKE.calibration.max > 1, JSON.stringify(model.thresholds.PLIKE));
    });

    it('ingest sends a file in batches, names rejected lines as FILE:LINE and exits 1', async () => {
      // A hand-set band the experiment will not meet; wide, so a few dozen positives are enough to judge it.
      const current = await server.call('GET', `/models/${encodeURIComponent(EXPERIMENT)}`);
      const patched = await server.call('PATCH', `/models/${encodeURIComponent(EXPERIMENT)}`, {
        body: { thresholds: { PLIKE: { calibration: { min: 0.5, max: 2 }, neMax: 5, minPositives: 1, minCount: 1 } } },
        contentType: 'application/merge-patch+json',
        headers: { 'if-match': `"${current.body.version}"` },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));

      const now = clock.epochMs;
      const rand = mulberry32(7);
      const lines: string[] = [];
      for (let i = 1; i <= 40; i++) {
        const ts = now - 30 * MINUTE + i * 30_000;
        if (i === 3) lines.push('{"model": not json');
        else if (i === 6) lines.push('');
        else if (i === 9) lines.push(event(BASELINE, 'PLIKE', 0.2, 0, ts).replace('"p":0.2', '"p":1.5'));
        else if (i === 14) lines.push(event('ig_feed_main_mtml:v404', 'PLIKE', 0.2, 0, ts));
        else if (i === 20) lines.push(event(BASELINE, 'PLIKE', 0.2, 0, now - 2 * HOUR));
        // Predicts 0.5 where one in ten is positive: calibration near 5.
        else if (i % 2) lines.push(event(EXPERIMENT, 'PLIKE', 0.5, rand() < 0.1 ? 1 : 0, ts));
        else lines.push(event(BASELINE, 'PLIKE', 0.2, rand() < 0.2 ? 1 : 0, ts));
      }
      const file = join(dir, 'events.ndjson');
      writeFileSync(file, `${lines.join('\n')}\n`);

      const run = await cli(server.url, ['ingest', file, '--batch', '7']);
      assert.equal(run.code, 1, show(run));
      assert.match(run.stdout, /: 40 line\(s\), 39 sent in 6 batch\(es\): 35 accepted, 4 rejected/);
      const rejected = run.stderr.split('\n').filter((l) => l.startsWith(`${file}:`));
      assert.equal(rejected.length, 4, show(run));
      assert.match(rejected[0]!, new RegExp(`^${file}:3: not valid JSON`));
      assert.match(rejected[1]!, new RegExp(`^${file}:9: p: p is a probability in \\[0, 1\\]`));
      assert.match(rejected[2]!, new RegExp(`^${file}:14: model 'ig_feed_main_mtml:v404' is not registered`));
      assert.match(rejected[3]!, new RegExp(`^${file}:20: ts .* is 120 min old`));

      const clean = lines.filter((l, i) => l && ![2, 8, 13, 19].includes(i)).slice(0, 5).join('\n');
      const stdin = await cli(server.url, ['ingest', '-', '--json'], `${clean}\n`);
      assert.equal(stdin.code, 0, show(stdin));
      const totals = JSON.parse(stdin.stdout);
      assert.deepEqual([totals.file, totals.lines, totals.sent, totals.accepted, totals.rejected, totals.batches, totals.rejections], ['-', 5, 5, 5, 0, 1, []]);
    });

    it('ingest retries a batch whose answer was lost under the same Idempotency-Key, and it counts once', async () => {
      const proxy = await lossyProxy(server.url);
      try {
        const now = clock.epochMs;
        const lines = Array.from({ length: 12 }, (_, i) => event(EXPERIMENT, 'PCOMMENT', 0.1, i % 4 ? 0 : 1, now - 20 * MINUTE + i * MINUTE));
        const file = join(dir, 'comments.ndjson');
        writeFileSync(file, `${lines.join('\n')}\n`);
        const run = await cli(proxy.url, ['ingest', file, '--batch', '12']);
        assert.equal(run.code, 0, show(run));
        assert.match(run.stderr, /503: upstream timed out; retry 1 of 5/);
        assert.match(run.stdout, /12 accepted, 0 rejected .*1 retries/);
        assert.equal(proxy.keys.length, 2);
        assert.equal(proxy.keys[0], proxy.keys[1], 'the retry reuses the key');
        const sums = await server.fleet.stabilityStore.windowSums(now - HOUR, now + MINUTE);
        const comments = sums.find((r) => r.modelId === EXPERIMENT && r.task === 'PCOMMENT');
        assert.equal(comments?.sums.count, 12, 'counted once');
      } finally {
        await proxy.close();
      }
    });

    it('stability, slos and alerts print tables, and parse as JSON with --json', async () => {
      // Enough volume in the last half hour for both models to be judged: the baseline as it has been,
      // the experiment predicting 0.5 where one in ten is positive.
      const rand = mulberry32(99);
      const now = clock.epochMs;
      const lines: string[] = [];
      for (let i = 0; i < 600; i++) {
        const p = 0.1 + 0.2 * rand();
        lines.push(event(BASELINE, 'PLIKE', p, rand() < p ? 1 : 0, now - 30 * MINUTE + i * 3000));
      }
      for (let i = 0; i < 300; i++) lines.push(event(EXPERIMENT, 'PLIKE', 0.5, rand() < 0.1 ? 1 : 0, now - 30 * MINUTE + i * 6000));
      const response = await server.call('POST', '/events', { raw: lines.join('\n'), contentType: 'application/x-ndjson' });
      assert.equal(response.body.accepted, 900, JSON.stringify(response.body));
      await server.fleet.monitor.tick();
      // The range ends after the minute just evaluated, which is the point at its end.
      const window = ['--from', new Date(clock.epochMs - 2 * HOUR).toISOString(), '--to', new Date(clock.epochMs + MINUTE).toISOString()];
      const [fleet, fleetJson, model, modelJson, slos, slosJson, alerts, alertsJson] = await Promise.all([
        cli(server.url, ['stability']),
        cli(server.url, ['stability', '--json']),
        cli(server.url, ['stability', EXPERIMENT, ...window, '--sparklines']),
        cli(server.url, ['stability', EXPERIMENT, ...window, '--step', '5m', '--json']),
        cli(server.url, ['slos']),
        cli(server.url, ['slos', '--json', '--tier', 'TIER2']),
        cli(server.url, ['alerts']),
        cli(server.url, ['alerts', '--state', 'firing', '--json']),
      ]);
      for (const run of [fleet, fleetJson, model, modelJson, slos, slosJson, alerts, alertsJson]) assert.equal(run.code, 0, show(run));

      assert.match(fleet.stdout, /2 monitored model\(s\): 1 stable, 1 unstable/);
      assert.match(fleet.stdout, new RegExp(`^${EXPERIMENT} +TIER2 +experiment +feed-ranking +PLIKE +calibration +\\d`, 'm'));
      assert.match(fleet.stdout, /^TIER2 +2 +1 +1 +0$/m);
      assert.equal(JSON.parse(fleetJson.stdout).unstable[0].model, EXPERIMENT);

      assert.match(model.stdout, new RegExp(`^${EXPERIMENT} +TIER2 experiment +window 60m +unstable at `, 'm'));
      assert.match(model.stdout, /^PLIKE +unstable +\d+ .*\[0\.5, 2\] +5 +calibration [\d.]+ outside \[0\.5, 2\]$/m);
      assert.match(model.stdout, /^PCOMMENT +no_thresholds /m);
      // The minutes before the one evaluated have no verdict: their points are the events' own sums.
      assert.match(model.stdout, /points of 1m \(rolling-window verdicts where judged, raw event sums elsewhere\)/);
      assert.match(model.stdout, /^PLIKE +calibration +[ ▁▂▃▄▅▆▇█]+ +[\d.]+\.\.[\d.]+ +band \[0\.5, 2\], \d+ point\(s\) outside$/m);
      assert.match(model.stdout, /^ +\^+ *$/m, 'out-of-band points are marked when there is no colour');
      const report = JSON.parse(modelJson.stdout);
      assert.equal(report.step, 5 * MINUTE);
      assert.deepEqual(report.tasks.map((t: { task: string }) => t.task), ['PLIKE', 'PCOMMENT']);

      assert.match(slos.stdout, /^MODEL +TIER +OBJECTIVE +SLI +BUDGET_LEFT +BURN_1H +BURN_6H +BURN_3D +FIRING$/m);
      assert.match(slos.stdout, new RegExp(`^${EXPERIMENT} +TIER2 +99% +0% `, 'm'));
      assert.equal(JSON.parse(slosJson.stdout).items.length, 2);

      assert.match(alerts.stdout, new RegExp(`^firing +\\S+ +${EXPERIMENT} +TIER2 +${EXPERIMENT} \\(TIER2 experiment\\) is unstable: PLIKE calibration`, 'm'));
      assert.match(alerts.stdout, /^WHAT TO DO$/m);
      assert.match(alerts.stdout, new RegExp(`^${EXPERIMENT}: end the experiment: its traffic \\(10%\\) goes back to the baseline ${BASELINE}`, 'm'));
      assert.match(alerts.stdout, new RegExp(`^ {2}\\$ modelfleet models end-experiment ${EXPERIMENT}$`, 'm'));
      const firing = JSON.parse(alertsJson.stdout) as Array<{ state: string; modelId: string }>;
      assert.ok(firing.length >= 1 && firing.every((a) => a.state === 'firing' && a.modelId === EXPERIMENT), alertsJson.stdout);
    });

    it('models end-experiment moves the traffic to the baseline, asks first, and refuses a baseline', async () => {
      const unconfirmed = await cli(server.url, ['models', 'end-experiment', EXPERIMENT]);
      assert.equal(unconfirmed.code, 1, show(unconfirmed));
      assert.match(unconfirmed.stderr, /not ending ig_feed_main_mtml:v2 without confirmation: stdin is not a terminal, so pass --yes/);

      const ended = await cli(server.url, ['models', 'end-experiment', EXPERIMENT, '--yes', '--reason', 'unstable at 3 a.m.: PLIKE calibration 5']);
      assert.equal(ended.code, 0, show(ended));
      assert.match(ended.stdout, new RegExp(`^ended ${EXPERIMENT}: now retired \\(was experiment serving 10% of traffic\\)$`, 'm'));
      assert.match(ended.stdout, new RegExp(`^baseline ${BASELINE} now serves 100% of traffic$`, 'm'));
      assert.match(ended.stdout, /^changes: seq \d+ \(ig_feed_main_mtml:v2 version \d+\), seq \d+ \(ig_feed_main_mtml:v1 version \d+\)$/m);

      const models = (await server.call('GET', '/models?modelType=ig_feed_main_mtml')).body.items as Array<{ id: string; role: string; trafficShare: number }>;
      const byId = new Map(models.map((m) => [m.id, m]));
      assert.equal(byId.get(BASELINE)!.trafficShare, 1);
      assert.equal(byId.get(EXPERIMENT)!.role, 'retired');
      assert.equal(byId.get(EXPERIMENT)!.trafficShare, 0);
      const history = (await server.call('GET', `/models/${encodeURIComponent(EXPERIMENT)}/history`)).body.items as Array<{ reason: string | null }>;
      assert.equal(history.at(-1)!.reason, 'unstable at 3 a.m.: PLIKE calibration 5');

      const refused = await cli(server.url, ['models', 'end-experiment', BASELINE, '--yes']);
      assert.equal(refused.code, 1, show(refused));
      assert.match(refused.stderr, /is the baseline of ig_feed_main_mtml: it cannot simply be turned off\. .*do not turn it off/);
    });
  });
});
