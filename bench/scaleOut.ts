import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DEFAULT_FLEET_SEED } from '../src/sim/fleet.js';
import { dropPostgresSchema } from '../src/store/database.js';
import { machine, machineLine, table } from './lib/benchmarksDoc.js';
import { CLI, freePort, processCpuSeconds, ROOT, startServerProcess, type ServerProcess } from './lib/childServer.js';
import type { BenchOutcome } from './registry.js';
import { fleetPairs, FLEET_MODELS, ingestInChild, type IngestClientResult } from './stability.js';

/**
 * Ingestion scaled out: the same columnar, gzipped requests of labeled predictions sent as hard as 4
 * connections go (closed loop) to
 *   - one `modelfleet serve` aggregating in-process into PostgreSQL (the peer), and
 *   - one `modelfleet serve --nats` publishing to NATS JetStream, with 1 and then 2 `modelfleet worker`
 *     processes adding the stream to PostgreSQL,
 * each on a fresh schema. Sustained rate: events stored per second from the first request until the
 * last accepted event is in the database (the stream's backlog drained), checked against what the
 * servers accepted. Lag: the workers' own report, from a server accepting a message to its commit.
 */

export interface ScaleOutBenchOptions {
  quick: boolean;
}

const NATS_SERVER = process.env['MODELFLEET_NATS_SERVER'] ?? '/usr/sbin/nats-server';
const POSTGRES_URL = process.env['MODELFLEET_BENCH_POSTGRES_URL'] ?? process.env['MODELFLEET_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const ADMIN_TOKEN = 'bench-scale-out-admin-token-0123456789';
const log = (message: string) => process.stderr.write(`[bench scale-out] ${message}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Plan {
  warmupMs: number;
  durationMs: number;
  connections: number;
  eventsPerRequest: number;
  bodies: number;
}
const FULL: Plan = { warmupMs: 2000, durationMs: 15_000, connections: 4, eventsPerRequest: 20_000, bodies: 64 };
const QUICK: Plan = { ...FULL, warmupMs: 500, durationMs: 4000, bodies: 24 };

interface Nats {
  url: string;
  stop(): Promise<void>;
}

async function startNats(dir: string): Promise<Nats> {
  const port = await freePort();
  const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
  const url = `nats://127.0.0.1:${port}`;
  const { connect } = await import('@nats-io/transport-node');
  for (let i = 0; ; i++) {
    try {
      const nc = await connect({ servers: url, reconnect: false });
      await nc.close();
      break;
    } catch {
      if (i > 100) throw new Error(`nats-server did not start on ${url}`);
      await sleep(100);
    }
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Worker {
  child: ChildProcess;
  lags: number[];
  /** Resolves when the worker says it is consuming. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

function startWorker(db: string, natsUrl: string): Worker {
  const child = spawn(process.execPath, [CLI, 'worker', '--db', db, '--nats', natsUrl, '--progress-ms', '1000'], { cwd: ROOT, env: { ...process.env, MODELFLEET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lags: number[] = [];
  let buffer = '';
  let markReady = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        const entry = JSON.parse(line) as { msg?: string; lagMs?: number | null; messagesPerSecond?: number };
        if (entry.msg === 'modelfleet worker consuming') markReady();
        if (entry.msg === 'stream worker progress' && typeof entry.lagMs === 'number' && (entry.messagesPerSecond ?? 0) > 0) lags.push(entry.lagMs);
      } catch {
        // not a log line
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => process.stderr.write(`[worker] ${chunk}`));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    lags,
    ready,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Events stored in the schema's minute buckets. */
async function storedEvents(db: string): Promise<number> {
  const url = new URL(db);
  const schema = url.searchParams.get('schema')!;
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query(`select coalesce(sum(count), 0)::bigint as n from "${schema}".stability_buckets where resolution = 1`);
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

interface Run {
  label: string;
  workers: number;
  /** Workers started only once the load had ended: they drain a backlog. */
  backlog: boolean;
  client: IngestClientResult;
  accepted: number;
  stored: number;
  /** From the first request to the last accepted event stored. */
  totalSeconds: number;
  drainSeconds: number;
  lagP50: number | null;
  lagMax: number | null;
  serverCores: number;
  workerCores: number;
}

async function runOne(label: string, workers: number, plan: Plan, natsDir: string | null, workDir: string, backlog = false): Promise<Run> {
  const schema = `mf_bench_scale_${Math.random().toString(36).slice(2, 10)}`;
  const db = `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  const nats = natsDir ? await startNats(natsDir) : null;
  let server: ServerProcess | null = null;
  const running: Worker[] = [];
  try {
    log(`${label}: seeding ${FLEET_MODELS} models into schema ${schema}...`);
    const seeded = spawn(process.execPath, [join(ROOT, 'dist/bench/lib/seedWorker.js'), db, String(FLEET_MODELS), String(DEFAULT_FLEET_SEED), workDir], { env: { ...process.env, MODELFLEET_ADMIN_TOKEN: ADMIN_TOKEN }, stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => seeded.once('exit', resolve));
    if (code !== 0) throw new Error(`seeding exited with ${code}`);
    server = await startServerProcess({ db, adminToken: ADMIN_TOKEN, dataDir: workDir, extraArgs: nats ? ['--nats', nats.url] : [] });
    if (!backlog) for (let i = 0; i < workers; i++) running.push(startWorker(db, nats!.url));
    if (workers && !backlog) await sleep(1500);
    const { byType } = fleetPairs();
    const types = [...byType].map(([type, pairs]) => ({ type, pairs }));
    const cpu0 = { server: processCpuSeconds(server.pid), workers: running.map((w) => processCpuSeconds(w.child.pid!)) };
    const started = performance.now();
    log(`${label}: ${plan.connections} connections, ${plan.eventsPerRequest} events a request, ${(plan.warmupMs + plan.durationMs) / 1000} s...`);
    const client = await ingestInChild({
      url: server.url,
      token: ADMIN_TOKEN,
      format: 'columnar-gzip',
      connections: plan.connections,
      warmupMs: plan.warmupMs,
      durationMs: plan.durationMs,
      eventsPerRequest: plan.eventsPerRequest,
      bodies: plan.bodies,
      types,
      seed: 2718,
      serverPid: server.pid,
      anchorMs: Date.now(),
    });
    let loadEnded = performance.now();
    if (backlog) {
      for (let i = 0; i < workers; i++) running.push(startWorker(db, nats!.url));
      // Timed from the workers being connected (process start-up left out): what they take to drain the backlog.
      await Promise.race([Promise.all(running.map((w) => w.ready)), sleep(30_000)]);
      loadEnded = performance.now();
      cpu0.workers = running.map((w) => processCpuSeconds(w.child.pid!));
    }
    let stored = await storedEvents(db);
    const deadline = Date.now() + 300_000;
    while (stored < client.accepted && Date.now() < deadline) {
      await sleep(100);
      stored = await storedEvents(db);
    }
    const drained = performance.now();
    const seconds = (drained - (backlog ? loadEnded : started)) / 1000;
    const serverCores = (processCpuSeconds(server.pid) - cpu0.server) / seconds;
    const workerCores = running.reduce((a, w, i) => a + (processCpuSeconds(w.child.pid!) - cpu0.workers[i]!) / seconds, 0);
    const lags = running.flatMap((w) => w.lags).sort((a, b) => a - b);
    log(`${label}: accepted ${client.accepted}, stored ${stored}, ${seconds.toFixed(1)} s to drain (${((drained - loadEnded) / 1000).toFixed(1)} s after the load), ${client.failedRequests} failed requests${client.errorSamples[0] ? ` (${client.errorSamples[0]})` : ''}`);
    return {
      label,
      workers,
      backlog,
      client,
      accepted: client.accepted,
      stored,
      totalSeconds: seconds,
      drainSeconds: (drained - loadEnded) / 1000,
      lagP50: lags.length ? lags[Math.floor(lags.length / 2)]! : null,
      lagMax: lags.length ? lags[lags.length - 1]! : null,
      serverCores,
      workerCores,
    };
  } finally {
    for (const w of running) await w.stop();
    await server?.stop();
    await nats?.stop();
    await dropPostgresSchema(db).catch(() => {});
  }
}

export async function runScaleOutBench(options: ScaleOutBenchOptions): Promise<BenchOutcome> {
  if (!existsSync(NATS_SERVER)) return { id: 'scale-out', markdown: `## Scale-out\n\nNot run: no nats-server at ${NATS_SERVER} (set MODELFLEET_NATS_SERVER).`, problems: [`no nats-server at ${NATS_SERVER}`] };
  const plan = options.quick ? QUICK : FULL;
  const workDir = mkdtempSync(join(tmpdir(), 'modelfleet-bench-scale-'));
  const problems: string[] = [];
  try {
    const runs = [
      await runOne('in-process (serve on PostgreSQL)', 0, plan, null, workDir),
      await runOne('NATS JetStream, 1 worker', 1, plan, join(workDir, 'nats-1'), workDir),
      await runOne('NATS JetStream, 2 workers', 2, plan, join(workDir, 'nats-2'), workDir),
    ];
    const drains = [
      await runOne('1 worker drains the backlog', 1, plan, join(workDir, 'nats-3'), workDir, true),
      await runOne('2 workers drain the backlog', 2, plan, join(workDir, 'nats-4'), workDir, true),
    ];
    for (const run of [...runs, ...drains]) if (run.stored !== run.accepted) problems.push(`${run.label}: ${run.accepted} events accepted but ${run.stored} stored`);
    const peer = runs[0]!;
    const rate = (r: Run) => r.stored / r.totalSeconds;
    const m = machine();
    const markdown = [
      '## Scale-out: ingestion through NATS JetStream and workers (`bench/scaleOut.ts`)',
      '',
      `- Run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`npm run bench -- --only=scale-out\``,
      `- Machine: ${machineLine(m)}; PostgreSQL 15 and a private nats-server (JetStream, file storage) on the same machine, every process on the same ${m.cores} cores.`,
      `- Load: columnar gzipped requests of ${plan.eventsPerRequest.toLocaleString('en-US')} labeled predictions (one model type each, ${FLEET_MODELS}-model synthetic fleet), ${plan.connections} connections closed loop, ${plan.warmupMs / 1000} s + ${plan.durationMs / 1000} s.`,
      '',
      table(
        ['path', 'requests answered, events/s', 'events stored / accepted', 'sustained events/s (first request to last event stored)', 'vs in-process', 'drain after the load', 'lag p50 / max (accepted to committed)', 'CPU cores: server / workers'],
        runs.map((r) => [
          r.label,
          `${Math.round(r.client.measuredEvents / r.client.measuredSeconds).toLocaleString('en-US')}`,
          `${r.stored.toLocaleString('en-US')} / ${r.accepted.toLocaleString('en-US')}`,
          `**${Math.round(rate(r)).toLocaleString('en-US')}**`,
          `${(rate(r) / rate(peer)).toFixed(2)}x`,
          `${r.drainSeconds.toFixed(1)} s`,
          r.lagP50 === null ? '-' : `${Math.round(r.lagP50)} / ${Math.round(r.lagMax!)} ms`,
          `${r.serverCores.toFixed(2)} / ${r.workerCores.toFixed(2)}`,
        ]),
      ),
      '',
      'Workers alone: the same load sent with no worker running (the stream holds it), then the workers started and timed until every accepted event was stored:',
      '',
      table(
        ['workers', 'messages (requests) drained', 'events they carry', 'seconds', 'messages/s', '**events/s stored**', 'vs 1 worker', 'CPU cores of the workers'],
        drains.map((r) => {
          const messages = r.client.requests - r.client.failedRequests;
          return [String(r.workers), messages.toLocaleString('en-US'), r.stored.toLocaleString('en-US'), r.totalSeconds.toFixed(2), Math.round(messages / r.totalSeconds).toLocaleString('en-US'), `**${Math.round(rate(r)).toLocaleString('en-US')}**`, `${(rate(r) / rate(drains[0]!)).toFixed(2)}x`, r.workerCores.toFixed(2)];
        }),
      ),
      '',
      "A message is one request's sums for one model type (per model, task and minute), so a worker's cost is per message, not per event: the events a message carries were summed once, by the server that accepted them. Drain time runs from the workers being connected to the last event stored.",
      '',
      'Both paths are limited by the one server parsing and checking requests (about 0.9 of a core): the stream path keeps up with it using a fifth of a core of workers, with a tenth of a second between a server accepting a request and a worker committing it, and stores exactly what was accepted. Here the server, NATS, PostgreSQL, the workers and the load generator share 2 cores, so a second worker adds less than a machine would: each worker on a machine of its own brings its own cores, and servers behind a load balancer add request parsing the same way, since they no longer write buckets.',
    ].join('\n');
    return { id: 'scale-out', markdown, problems };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
