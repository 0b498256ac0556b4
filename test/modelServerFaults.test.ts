import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startModelServer, type RunningModelServer } from '../src/serving/modelServer.js';
import { REPO_ROOT, runCli } from './cliRunner.js';

/**
 * Fault injection for rehearsals: `--error-rate` fails a deterministic share of predictions and
 * `--extra-latency-ms` delays every answer, in process and through the CLI (also with several workers).
 */

const MODEL = 'ig_feed_mtml:v4';
const BIN = join(REPO_ROOT, 'bin', 'modelfleet.js');
const body = JSON.stringify({ user: { id: 'u1', features: { country: 'us' } }, candidates: [{ id: 'c1', features: { media: 'video' } }] });

async function predict(url: string): Promise<{ status: number; body: any; elapsedMs: number }> {
  const started = performance.now();
  const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const answer = await response.json();
  return { status: response.status, body: answer, elapsedMs: performance.now() - started };
}

describe('model server fault injection', () => {
  const servers: RunningModelServer[] = [];
  const children: ChildProcess[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('--error-rate 0.25 answers every 4th prediction with 500; health and metrics are untouched', async () => {
    const server = await startModelServer({ model: MODEL, size: 'small', faults: { errorRate: 0.25 } });
    servers.push(server);
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await predict(server.url));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 500, 200, 200, 200, 500]);
    assert.equal(answers[3]!.body.error.code, 'internal');
    assert.match(answers[3]!.body.error.message, /injected failure: this model server runs with --error-rate 0.25/);
    assert.equal(answers[4]!.body.model, MODEL);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  it('--extra-latency-ms delays every prediction by at least that long', async () => {
    const server = await startModelServer({ model: MODEL, size: 'small', faults: { extraLatencyMs: 150 } });
    servers.push(server);
    for (let i = 0; i < 3; i++) {
      const answer = await predict(server.url);
      assert.equal(answer.status, 200);
      // A lower bound only (the delay is a timer of 150 ms; 2 ms of slack for timer rounding).
      assert.ok(answer.elapsedMs >= 148, `answered after ${answer.elapsedMs} ms`);
      assert.ok(answer.body.tookMs >= 148, `tookMs ${answer.body.tookMs}`);
    }
  });

  it('the CLI passes the faults to every worker, and says so when it starts', async () => {
    const child = spawn(process.execPath, [BIN, 'model-server', '--model', MODEL, '--port', '0', '--size', 'small', '--workers', '2', '--error-rate', '1', '--extra-latency-ms', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match && out.includes('\n  try:')) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`model-server exited (${code}): ${out}`)));
    });
    assert.match(out, /rehearsing failures: 100% of predictions answer 500, \+20 ms per prediction/);
    // Both workers fail every prediction: whichever worker answers, it is a 500.
    for (let i = 0; i < 6; i++) assert.equal((await predict(url)).status, 500);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  });

  it('refuses an error rate outside 0..1 and a latency that is not whole milliseconds', async () => {
    const badRate = await runCli('http://127.0.0.1:1', ['model-server', '--model', MODEL, '--port', '0', '--error-rate', '1.5']);
    assert.equal(badRate.code, 1);
    assert.match(badRate.stderr, /--error-rate '1.5' is not a share from 0 to 1/);
    const badLatency = await runCli('http://127.0.0.1:1', ['model-server', '--model', MODEL, '--port', '0', '--extra-latency-ms', 'soon']);
    assert.equal(badLatency.code, 1);
    assert.match(badLatency.stderr, /--extra-latency-ms 'soon' is not a whole number from 0 to 60000/);
    const help = await runCli('http://127.0.0.1:1', ['model-server', '--help']);
    assert.match(help.stdout, /Rehearsing failures:/);
  });
});
