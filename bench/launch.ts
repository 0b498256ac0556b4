import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { LoadGenerator } from '../src/capacity/loadGenerator.js';
import { parseRecordingOrThrow, type ReplayRequest } from '../src/capacity/recording.js';
import { createModelfleet } from '../src/modelfleet.js';
import { openDatabase } from '../src/store/database.js';
import { machine, machineLine, table } from './lib/benchmarksDoc.js';
import { CLI, freePort, processCpuSeconds, ROOT } from './lib/childServer.js';
import type { BenchOutcome } from './registry.js';

/**
 * Launches, three ways:
 *
 * (a) the router's cost: the same predict requests at the same constant rates straight to a replica
 *     and through the router (`serve --router-port`, in its own process), latency from the scheduled
 *     send time, taking turns; then each driven as hard as a closed loop can;
 * (b) the wall time of an end-to-end launch on the local executor (real model-server processes)
 *     while requests flow through the router, and the requests that failed meanwhile;
 * (c) 50 launches in parallel on the simulated executor and a manual clock, next to one launch alone.
 */

export interface LaunchBenchOptions {
  quick: boolean;
}

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const TYPE = 'ig_feed_main_mtml';
const log = (message: string) => process.stderr.write(`[bench launch] ${message}\n`);
const ROUTER_REFRESH_MS = 1500;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Plan {
  rates: number[];
  durationMs: number;
  rounds: number;
  parallel: number;
  bakeSeconds: number;
}
const FULL: Plan = { rates: [200, 800], durationMs: 8000, rounds: 3, parallel: 50, bakeSeconds: 10 };
const QUICK: Plan = { rates: [200], durationMs: 3000, rounds: 1, parallel: 10, bakeSeconds: 3 };

const body = (i: number) => ({ user: { id: `u${i}`, features: { country: ['us', 'br', 'in'][i % 3], age: 20 + (i % 40) } }, candidates: Array.from({ length: 20 }, (_, c) => ({ id: `c${c}`, features: { media: c % 2 ? 'video' : 'photo', likes: c * 13 } })) });
const recording = (path: string) => parseRecordingOrThrow(Array.from({ length: 64 }, (_, i) => JSON.stringify({ method: 'POST', path, body: body(i) })).join('\n'), 'bench.ndjson');

interface Serve {
  url: string;
  routerUrl: string;
  pid: number;
  stop(): Promise<void>;
}

async function serve(db: string, dataDir: string): Promise<Serve> {
  const [port, routerPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--db', db, '--port', String(port), '--router-port', String(routerPort), '--data-dir', dataDir], {
    cwd: ROOT,
    env: { ...process.env, MODELFLEET_ADMIN_TOKEN: ADMIN_TOKEN, MODELFLEET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  child.stderr!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const routerUrl = `http://127.0.0.1:${routerPort}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited: ${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok && (await fetch(`${routerUrl}/healthz`)).ok) break;
    } catch {
      // starting
    }
    if (i > 600) throw new Error(`serve did not start: ${output}`);
    await sleep(100);
  }
  return {
    url,
    routerUrl,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

async function api(s: Serve, method: string, path: string, payload?: unknown): Promise<any> {
  const response = await fetch(`${s.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, ...(payload ? { body: JSON.stringify(payload) } : {}) });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function waitFor(s: Serve, id: string, phases: string[], limitMs = 300_000): Promise<any> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const launch = await api(s, 'GET', `/launches/${id}`);
    if (phases.includes(launch.phase)) return launch;
    if (Date.now() > deadline) throw new Error(`launch ${id} stuck in ${launch.phase} (${launch.stage})`);
    await sleep(250);
  }
}

/** Requests through the router at a steady pace during a launch; counts what failed. */
function background(routerUrl: string, perSecond: number) {
  let running = true;
  const tally = { ok: 0, failed: 0 };
  let n = 0;
  const done = (async () => {
    while (running) {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: Math.max(1, Math.round(perSecond / 10)) }, async () => {
          try {
            const r = await fetch(`${routerUrl}/rank/${TYPE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(n++)) });
            await r.arrayBuffer();
            if (r.ok) tally.ok += 1;
            else tally.failed += 1;
          } catch {
            tally.failed += 1;
          }
        }),
      );
      await sleep(Math.max(0, 100 - (performance.now() - started)));
    }
  })();
  return async () => {
    running = false;
    await done;
    return tally;
  };
}

interface LatencyRow {
  path: 'direct' | 'router';
  rate: number;
  round: number;
  achieved: number;
  p50: number;
  p99: number;
  errors: number;
  routerCpu: number | null;
}

async function measure(target: string, requests: ReplayRequest[], rate: number, durationMs: number): Promise<{ achieved: number; p50: number; p99: number; errors: number }> {
  const generator = await LoadGenerator.start({ target, requests, workers: 0 });
  try {
    const m = await generator.run({ rate, warmupMs: 1000, durationMs });
    return { achieved: m.achievedQps, p50: m.latency.p50, p99: m.latency.p99, errors: m.errors };
  } finally {
    await generator.close();
  }
}

async function simulatedLaunches(count: number): Promise<{ count: number; seconds: number; ticks: number; simulatedMinutes: number; completed: number }> {
  let now = Date.parse('2026-11-26T00:00:00Z');
  const clock = { now: () => new Date(now) };
  const fleet = await createModelfleet({ db: 'sqlite::memory:', adminToken: ADMIN_TOKEN, dataDir: mkdtempSync(join(tmpdir(), 'modelfleet-bench-sim-')), logger: pino({ level: 'silent' }), clock, launch: { autoStart: false, local: false, simulated: { startupMs: 30_000 } } });
  try {
    const actor = { name: 'bench', role: 'admin' as const, team: null };
    const ops: any[] = [{ action: 'create', kind: 'team', input: { name: 'bench-team', description: 'bench' } }];
    for (let i = 0; i < count; i++) {
      const type = `ig_bench${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}_main_mtml`;
      ops.push({ action: 'create', kind: 'modelType', input: { name: type, description: 'bench', funnelStage: 'late_stage_ranking', ownerTeam: 'bench-team', oncall: { rotation: 'bench', coverage: 'business_hours' }, criticality: 'TIER2', tasks: [{ name: 'PLIKE' }], serving: { bakeSeconds: 60 } } });
      ops.push({ action: 'create', kind: 'model', input: { id: `${type}:v1`, role: 'baseline', trafficShare: 1, capacity: { maxQpsPerReplica: 100, replicas: 10, unitCost: 1 } } });
      ops.push({ action: 'create', kind: 'model', input: { id: `${type}:v2`, role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 120, replicas: 0, unitCost: 1 } } });
    }
    await fleet.registry.execute(actor, ops);
    const started = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const type = (ops[1 + i * 3].input as { name: string }).name;
      ids.push((await fleet.launches.start(actor, { modelType: type, candidate: `${type}:v2`, executor: 'simulated' })).id);
    }
    let ticks = 0;
    const startMs = now;
    for (;;) {
      await fleet.launchEngine.tick();
      ticks += 1;
      const active = await fleet.launches.list({ active: true, limit: 10_000 });
      if (!active.length || ticks > 5000) break;
      now += 5000;
    }
    const done = await fleet.launches.list({ limit: 10_000 });
    return { count, seconds: (performance.now() - started) / 1000, ticks, simulatedMinutes: (now - startMs) / 60_000, completed: done.filter((l) => l.phase === 'completed').length };
  } finally {
    await fleet.close();
  }
}

export async function runLaunchBench(options: LaunchBenchOptions): Promise<BenchOutcome> {
  const plan = options.quick ? QUICK : FULL;
  const problems: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'modelfleet-bench-launch-'));
  const db = `sqlite:${join(dir, 'modelfleet.db')}`;
  const s = await serve(db, dir);
  const rows: LatencyRow[] = [];
  let closed: Array<{ path: string; rps: number }> = [];
  let launches: Array<{ what: string; seconds: number; steps: number; ok: number; failed: number; phase: string }> = [];
  try {
    await api(s, 'POST', '/teams', { name: 'feed-ranking', description: 'feed' });
    await api(s, 'POST', '/model-types', { name: TYPE, description: 'Ranks the main feed', funnelStage: 'late_stage_ranking', ownerTeam: 'feed-ranking', oncall: { rotation: 'feed', coverage: 'business_hours' }, criticality: 'TIER2', tasks: [{ name: 'PLIKE' }, { name: 'PCOMMENT' }], serving: { p99Ms: 1000, bakeSeconds: plan.bakeSeconds, minReplicas: 1, errorRateMargin: 0.01 } });
    await api(s, 'POST', '/models', { id: `${TYPE}:v1`, role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 400, replicas: 0, unitCost: 1 } });
    await api(s, 'POST', '/models', { id: `${TYPE}:v2`, role: 'candidate', trafficShare: 0, capacity: { maxQpsPerReplica: 400, replicas: 0, unitCost: 1 } });

    // (b) first: a type with no baseline gets one, then v2 replaces it, with requests flowing both times.
    for (const [what, model] of [
      ['first launch of a type (no baseline yet)', `${TYPE}:v1`],
      ['v2 replaces the baseline v1', `${TYPE}:v2`],
    ] as const) {
      // A type with no model serving yet answers 503 until the first step moves traffic: requests start then.
      const first = model.endsWith(':v1');
      let stop = first ? null : background(s.routerUrl, 50);
      const started = performance.now();
      const launch = await api(s, 'POST', '/launches', { modelType: TYPE, candidate: model, executor: 'local', stepShare: 0.25, peakQps: 200 });
      if (first) {
        await waitFor(s, launch.id, ['shifting', 'completed', 'failed', 'rolled_back', 'aborted']);
        for (let i = 0; i < 100 && (await api(s, 'GET', `/launches/${launch.id}`)).traffic.candidate === 0; i++) await sleep(100);
        // The router re-reads its allocation table at most every second.
        await sleep(ROUTER_REFRESH_MS);
        stop = background(s.routerUrl, 50);
      }
      const done = await waitFor(s, launch.id, ['completed', 'failed', 'rolled_back', 'aborted']);
      const seconds = (performance.now() - started) / 1000;
      await sleep(500);
      const tally = await stop!();
      log(`(b) ${what}: ${done.phase} in ${seconds.toFixed(1)} s, ${done.plan.length} steps; requests ${tally.ok} ok, ${tally.failed} failed`);
      launches.push({ what, seconds, steps: done.plan.length, ok: tally.ok, failed: tally.failed, phase: done.phase });
      if (done.phase !== 'completed') problems.push(`(b) ${what}: ${done.phase}: ${done.outcome}`);
      if (tally.failed) problems.push(`(b) ${what}: ${tally.failed} requests failed through the router`);
    }

    // (a) the router's cost, next to the replica it sends to.
    const handle = await openDatabase(db);
    const replica = (await handle.db.selectFrom('replicas').select(['endpoint', 'pid']).where('model_id', '=', `${TYPE}:v2`).where('state', '=', 'ready').executeTakeFirst())!;
    await handle.close();
    const direct = recording('/predict');
    const routed = recording(`/rank/${TYPE}`);
    for (let round = 0; round < plan.rounds; round++) {
      for (const rate of plan.rates) {
        for (const path of ['direct', 'router'] as const) {
          const cpu0 = processCpuSeconds(s.pid);
          const m = await measure(path === 'direct' ? replica.endpoint! : s.routerUrl, path === 'direct' ? direct : routed, rate, plan.durationMs);
          const routerCpu = path === 'router' ? (processCpuSeconds(s.pid) - cpu0) / ((plan.durationMs + 1000) / 1000) : null;
          rows.push({ path, rate, round, ...m, routerCpu });
          log(`(a) ${path} at ${rate}/s: achieved ${m.achieved.toFixed(0)}, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, ${m.errors} errors`);
          await sleep(500);
        }
      }
    }
    // As hard as the replica goes: a closed loop of 32 connections each way (autocannon).
    const autocannon = (await import('autocannon')).default;
    for (const path of ['direct', 'router'] as const) {
      const result = await autocannon({ url: path === 'direct' ? `${replica.endpoint}/predict` : `${s.routerUrl}/rank/${TYPE}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(1)), connections: 32, duration: Math.round(plan.durationMs / 1000) });
      closed.push({ path, rps: result.requests.average });
      log(`(a) closed loop ${path}: ${result.requests.average} req/s`);
    }
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const one = await simulatedLaunches(1);
  const many = await simulatedLaunches(plan.parallel);
  log(`(c) ${one.count} simulated launch: ${one.seconds.toFixed(2)} s; ${many.count} in parallel: ${many.seconds.toFixed(2)} s, ${many.completed} completed`);
  if (many.completed !== many.count) problems.push(`(c) ${many.completed} of ${many.count} simulated launches completed`);

  const m = machine();
  const lines: string[] = [];
  lines.push('## Launch: router overhead, an end-to-end local launch, parallel simulated launches (`bench/launch.ts`)');
  lines.push('');
  lines.push(`- Run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`npm run bench -- --only=launch${options.quick ? ' --quick' : ''}\``);
  lines.push(`- Machine: ${machineLine(m)}`);
  lines.push('');
  lines.push('### (a) What the router adds');
  lines.push('');
  lines.push(
    `\`modelfleet serve --router-port\` in its own process, one \`model-server --size small --workers 1\` replica started by the local executor. The same predict requests (64 users, 20 candidates each) go at a constant rate straight to the replica (\`POST /predict\`) and through the router (\`POST /rank/${TYPE}\`), taking turns, ${plan.durationMs / 1000} s measured after 1 s of warm-up, latency from each request's scheduled send time (modelfleet's load generator, one thread). Then each path as fast as 32 closed-loop connections go (autocannon).`,
  );
  lines.push('');
  const pick = (path: string, rate: number) => rows.filter((r) => r.path === path && r.rate === rate);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  lines.push(
    table(
      ['rate /s', 'direct p50 / p99 ms', 'router p50 / p99 ms', 'added p50 / p99 ms', 'router process CPU (cores)', 'errors direct / router'],
      plan.rates.map((rate) => {
        const d = pick('direct', rate);
        const r = pick('router', rate);
        const [dp50, dp99, rp50, rp99] = [median(d.map((x) => x.p50)), median(d.map((x) => x.p99)), median(r.map((x) => x.p50)), median(r.map((x) => x.p99))];
        return [String(rate), `${dp50.toFixed(2)} / ${dp99.toFixed(2)}`, `${rp50.toFixed(2)} / ${rp99.toFixed(2)}`, `${(rp50 - dp50).toFixed(2)} / ${(rp99 - dp99).toFixed(2)}`, median(r.map((x) => x.routerCpu ?? 0)).toFixed(2), `${d.reduce((a, x) => a + x.errors, 0)} / ${r.reduce((a, x) => a + x.errors, 0)}`];
      }),
    ),
  );
  lines.push('');
  lines.push(`Medians over ${plan.rounds} round(s). The router process also runs the modelfleet server. Closed loop: direct ${closed.find((c) => c.path === 'direct')?.rps.toFixed(0)} req/s, through the router ${closed.find((c) => c.path === 'router')?.rps.toFixed(0)} req/s (${((closed.find((c) => c.path === 'router')?.rps ?? 0) / (closed.find((c) => c.path === 'direct')?.rps ?? 1)).toFixed(2)}x); on 2 cores the router and the replica compete for the same CPU, so this ratio is a floor.`);
  lines.push('');
  lines.push('### (b) End-to-end launches on the local executor');
  lines.push('');
  lines.push(`Steps of 25%, a bake of ${plan.bakeSeconds} s per step, real model-server processes, about 50 requests a second through the router from start to end (for the first launch, from 1.5 s after its first traffic step, once the router has read it: until then no model of the type serves).`);
  lines.push('');
  lines.push(table(['launch', 'outcome', 'wall time s', 'steps', 'requests ok', 'failed'], launches.map((l) => [l.what, l.phase, l.seconds.toFixed(1), String(l.steps), String(l.ok), String(l.failed)])));
  lines.push('');
  lines.push('### (c) Parallel launches on the simulated executor');
  lines.push('');
  lines.push(`Each model type: a baseline of 10 replicas, a candidate sized by its capacity profile, 60 s bakes, 30 s replica start-up, steps of 20%; the clock moves 5 s per engine tick. SQLite in memory, in process.`);
  lines.push('');
  lines.push(
    table(
      ['launches', 'completed', 'wall time s', 'engine ticks', 'simulated minutes', 'wall ms per launch'],
      [one, many].map((r) => [String(r.count), String(r.completed), r.seconds.toFixed(2), String(r.ticks), r.simulatedMinutes.toFixed(1), ((r.seconds * 1000) / r.count).toFixed(0)]),
    ),
  );
  return { id: 'launch', markdown: lines.join('\n'), problems };
}
