import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { ModelListQuerySchema } from '../src/api/listQueries.js';
import { readConfigDirectory } from '../src/cli/configFiles.js';
import { createModelfleet } from '../src/modelfleet.js';
import { systemActor } from '../src/registry/actor.js';
import { parseConfigFiles, renderConfigDocuments, validateConfigDocuments } from '../src/registry/configDocuments.js';
import type { DesiredEntry } from '../src/registry/configPlan.js';
import type { RegistryKind } from '../src/registry/entry.js';
import { RegistryService } from '../src/registry/registryService.js';
import { defaultRegistrySettings } from '../src/registry/settings.js';
import { Criticality, FunnelStage } from '../src/registry/vocabulary.js';
import { DEFAULT_FLEET_SEED, FLEET_SURFACES, generateFleet, type Fleet } from '../src/sim/fleet.js';
import { createRng, type Rng } from '../src/sim/random.js';
import { dropPostgresSchema, type DatabaseHandle, type DialectName } from '../src/store/database.js';
import { kyselyRegistryStore } from '../src/store/registryRepository.js';
import type { Database } from '../src/store/schema.js';
import { machine, machineLine, table } from './lib/benchmarksDoc.js';
import { CLI, machineBusySeconds, runProcess, startServerProcess, type ServerProcess } from './lib/childServer.js';
import { calibrate } from './lib/calibration.js';
import { collectGarbage } from './lib/gc.js';
import { latencyHistogram, recordMs, summarize, type LatencySummary } from './lib/histogram.js';
import { closedLoop, httpLoad, openLoop, type HttpLoad, type LoadResult } from './lib/loadGenerator.js';

/**
 * The registry's read path and config apply, through the real server in its own process, against
 * the same SQL run directly through the database driver (the peer) in the same run. The ratio of the
 * two is what modelfleet costs on top of the database: HTTP, auth, Kysely, JSON, views.
 */

export interface RegistryBenchOptions {
  quick: boolean;
  only?: DialectName | undefined;
}

export interface BenchOutcome {
  /** Section id in docs/benchmarks.md. */
  id: string;
  markdown: string;
  /** Targets missed and errors seen; empty when all is well. */
  problems: string[];
}

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test?schema=mf_bench';
const REQUEST_SEED = 42;
const APPLY_FLEET_SEED = 7;
const LIST_LIMIT = 100;

interface Plan {
  models: number;
  applyModels: number;
  connections: number;
  warmupMs: number;
  durationMs: number;
  singleWarmupMs: number;
  singleDurationMs: number;
  driverWarmupMs: number;
  driverDurationMs: number;
  /**
   * Offered rates of the open-loop runs, req/s. The first is the one the targets are judged on, chosen
   * well below the single-threaded server's capacity on a small machine; the others show the knee.
   */
  rate: Record<RequestKind, number[]>;
}

const FULL: Plan = {
  models: 100_000,
  applyModels: 10_000,
  connections: 50,
  warmupMs: 2000,
  durationMs: 10_000,
  singleWarmupMs: 1000,
  singleDurationMs: 4000,
  driverWarmupMs: 1000,
  driverDurationMs: 4000,
  rate: { get: [1000], list: [50, 100] },
};

const QUICK: Plan = {
  ...FULL,
  models: 10_000,
  applyModels: 2_000,
  warmupMs: 500,
  durationMs: 2000,
  singleWarmupMs: 300,
  singleDurationMs: 1000,
  driverWarmupMs: 300,
  driverDurationMs: 1000,
};

const log = (message: string) => process.stderr.write(`[bench registry] ${message}\n`);
const silent = pino({ level: 'silent' });

// ---------------------------------------------------------------------------------------------------
// Requests: one random stream feeds both the API and the driver peer.

type RequestKind = 'get' | 'list';

const REQUEST_LABEL: Record<RequestKind, string> = {
  get: 'GET /models/{id}',
  list: `GET /models?filters&limit=${LIST_LIMIT}`,
};

type ListShape = 'team' | 'surface' | 'stage';

/** Query parameters as the API takes them; the field names are also how driver parameters are mapped. */
type Fields = Record<string, string>;

interface Request {
  path: string;
  /** Which captured statement sequence, and the values that fill its parameters. */
  template: string;
  fields: Fields;
}

/** What the load generator keeps of the fleet: ids and team names, not 100,000 model documents. */
interface Subject {
  ids: string[];
  teams: string[];
  types: number;
}

/**
 * The seeding child generates the same fleet from the same seed; this process keeps ids and teams
 * only. A plain function on purpose: inside the suspended async benchmark, V8 kept the temporary fleet
 * (1.3 million objects) alive in a register, and its mark-compact pauses of 150-380 ms stalled the
 * load generator mid-run.
 */
function fleetSubject(models: number): Subject {
  const fleet = generateFleet({ models, seed: DEFAULT_FLEET_SEED });
  return { ids: fleet.models.map((m) => m.id), teams: fleet.teams.map((t) => t.name), types: fleet.modelTypes.length };
}

function requestStream(kind: RequestKind, subject: Subject, rng: Rng): () => Request {
  if (kind === 'get') {
    const { ids } = subject;
    return () => {
      const id = rng.pick(ids);
      return { path: `/api/v1/models/${encodeURIComponent(id)}`, template: 'get', fields: { id, modelType: id.slice(0, id.indexOf(':')) } };
    };
  }
  const { teams } = subject;
  const shapes: Record<ListShape, () => Fields> = {
    team: () => ({ ownerTeam: rng.pick(teams), role: 'experiment' }),
    surface: () => ({ surface: rng.pick(FLEET_SURFACES), criticality: rng.pick(Criticality) }),
    stage: () => ({ funnelStage: rng.pick(FunnelStage) }),
  };
  const names = Object.keys(shapes) as ListShape[];
  return () => {
    const shape = rng.pick(names);
    const fields = shapes[shape]();
    return { path: `/api/v1/models?${new URLSearchParams({ ...fields, limit: String(LIST_LIMIT) })}`, template: shape, fields };
  };
}

/** One sample per template, with field values that differ from each other so parameters map back unambiguously. */
function samples(subject: Subject): Record<string, Fields> {
  const id = subject.ids[0]!;
  return {
    get: { id, modelType: id.slice(0, id.indexOf(':')) },
    team: { ownerTeam: 'feed-ranking', role: 'experiment' },
    surface: { surface: 'feed', criticality: 'TIER2' },
    stage: { funnelStage: 'late_stage_ranking' },
  };
}

// ---------------------------------------------------------------------------------------------------
// The driver peer: the exact statements the store issues, captured from Kysely, replayed on the driver.

interface Statement {
  sql: string;
  /** For each parameter, the request field it takes, or a constant. */
  params: Array<{ field: string } | { constant: unknown }>;
}

interface Driver {
  dialect: DialectName;
  /** Kysely over the driver's connection, logging every compiled query. */
  db: Kysely<Database>;
  captured: CompiledQuery[];
  /** Runs one statement; synchronous for SQLite, a promise for PostgreSQL. */
  prepare(sql: string): (params: unknown[]) => unknown[] | Promise<unknown[]>;
  version(): Promise<string>;
  close(): Promise<void>;
}

function sqliteDriver(file: string): Driver {
  const connection = new BetterSqlite3(file, { readonly: true });
  const captured: CompiledQuery[] = [];
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection }), log: (event) => void (event.level === 'query' && captured.push(event.query)) });
  return {
    dialect: 'sqlite',
    db,
    captured,
    prepare(sql) {
      const statement = connection.prepare(sql);
      return (params) => statement.all(...params);
    },
    version: async () => `SQLite ${(connection.prepare('select sqlite_version() as v').get() as { v: string }).v}`,
    close: () => db.destroy(),
  };
}

function postgresPool(url: string, max: number): pg.Pool {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  return new pg.Pool({ connectionString: parsed.toString(), max, ...(schema ? { options: `-c search_path="${schema}"` } : {}) });
}

function postgresDriver(url: string): Driver {
  // The server's pool has 10 connections (store/database.ts); the peer gets the same.
  const pool = postgresPool(url, 10);
  const captured: CompiledQuery[] = [];
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: (event) => void (event.level === 'query' && captured.push(event.query)) });
  return {
    dialect: 'postgres',
    db,
    captured,
    prepare: (sql) => async (params) => (await pool.query(sql, params)).rows,
    version: async () => `PostgreSQL ${((await pool.query('show server_version')).rows[0] as { server_version: string }).server_version}`,
    close: () => db.destroy(),
  };
}

/**
 * Runs the service call a request makes (getModel, listModels) once on a logging Kysely and keeps the
 * statements it issued, mapping each parameter back to the request field whose value it carries.
 */
async function captureTemplates(driver: Driver, subject: Subject): Promise<Map<string, Statement[]>> {
  const handle: DatabaseHandle = { db: driver.db, dialect: driver.dialect, description: 'bench peer', close: async () => {} };
  const service = new RegistryService(kyselyRegistryStore(handle));
  const calls: Record<string, (fields: Fields) => Promise<unknown>> = {
    get: (f) => service.getModel(f['id']!),
    team: (f) => service.listModels(ModelListQuerySchema.parse({ ...f, limit: String(LIST_LIMIT) })),
    surface: (f) => service.listModels(ModelListQuerySchema.parse({ ...f, limit: String(LIST_LIMIT) })),
    stage: (f) => service.listModels(ModelListQuerySchema.parse({ ...f, limit: String(LIST_LIMIT) })),
  };
  const templates = new Map<string, Statement[]>();
  for (const [template, fields] of Object.entries(samples(subject))) {
    driver.captured.length = 0;
    await calls[template]!(fields);
    const statements = driver.captured.map((query) => ({
      sql: query.sql,
      params: query.parameters.map((value) => {
        const field = Object.keys(fields).find((f) => fields[f] === value);
        return field ? { field } : { constant: value };
      }),
    }));
    if (!statements.length) throw new Error(`capturing '${template}' saw no statements`);
    templates.set(template, statements);
  }
  return templates;
}

type Executor = (request: Request) => unknown[][] | Promise<unknown[][]>;

function executor(driver: Driver, templates: Map<string, Statement[]>): Executor {
  const compiled = new Map(
    [...templates].map(([name, statements]) => [
      name,
      statements.map((s) => ({ run: driver.prepare(s.sql), args: (fields: Fields) => s.params.map((p) => ('field' in p ? fields[p.field] : p.constant)) })),
    ]),
  );
  if (driver.dialect === 'sqlite') {
    return (request) => compiled.get(request.template)!.map((s) => s.run(s.args(request.fields)) as unknown[]);
  }
  return async (request) => {
    const out: unknown[][] = [];
    // The store awaits one statement before issuing the next; so does the peer.
    for (const s of compiled.get(request.template)!) out.push(await s.run(s.args(request.fields)));
    return out;
  };
}

interface DriverResult extends LatencySummary {
  throughput: number;
  clients: number;
}

/** SQLite: a synchronous loop (better-sqlite3 blocks, so more clients would only take turns). */
function driverLoopSync(run: Executor, next: () => Request, warmupMs: number, durationMs: number): DriverResult {
  const histogram = latencyHistogram();
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  let completed = 0;
  for (;;) {
    const request = next();
    const sent = performance.now();
    if (sent >= end) break;
    run(request);
    const done = performance.now();
    if (sent >= measureFrom) {
      recordMs(histogram, done - sent);
      completed += 1;
    }
  }
  return { ...summarize(histogram), throughput: completed / (durationMs / 1000), clients: 1 };
}

/** PostgreSQL: closed-loop clients over the pool, like the HTTP load. */
async function driverLoopAsync(run: Executor, next: () => Request, clients: number, warmupMs: number, durationMs: number): Promise<DriverResult> {
  const histogram = latencyHistogram();
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  let completed = 0;
  const client = async () => {
    for (;;) {
      const request = next();
      const sent = performance.now();
      if (sent >= end) return;
      await run(request);
      const done = performance.now();
      if (sent < measureFrom) continue;
      recordMs(histogram, done - sent);
      if (done <= end) completed += 1;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { ...summarize(histogram), throughput: completed / (durationMs / 1000), clients };
}

// ---------------------------------------------------------------------------------------------------
// One database: seed, serve, load, peer, apply.

interface Target {
  dialect: DialectName;
  /** The 100k registry. */
  url: string;
  /** Fresh databases for the apply runs. */
  applyUrl(which: string): string;
  sqliteFile?: string;
  cleanup(): Promise<void>;
}

type LoadMode = 'single' | 'saturated' | 'open' | 'open-more';

interface ApiRun {
  mode: LoadMode;
  /** {@link calibrate} just before the run: the machine's speed at the time. */
  calibrationMs: number;
  load: string;
  result: LoadResult;
  /** Cores busy on average during the run: the server process, the load generator, everything else (PostgreSQL, other jobs). */
  serverCpu: number;
  loadgenCpu: number;
  otherCpu: number;
}

interface DatabaseResults {
  dialect: DialectName;
  version: string;
  seedMs: number;
  entries: number;
  api: Record<RequestKind, ApiRun[]>;
  driver: Record<RequestKind, DriverResult[]>;
  apply: ApplyResults;
}

interface ApplyResults {
  models: number;
  documents: number;
  cliApplyMs: number;
  cliValidateMs: number;
  inProcessParseMs: number;
  inProcessApplyMs: number;
}

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const seconds = (value: number) => `${(value / 1000).toFixed(1)} s`;

async function measureApi(server: ServerProcess, kind: RequestKind, subject: Subject, plan: Plan, dialect: DialectName): Promise<ApiRun[]> {
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, accept: 'application/json' };
  const runs: ApiRun[] = [];
  const measured = async (mode: LoadMode, load: string, body: (http: HttpLoad) => Promise<LoadResult>, connections: number) => {
    const http = httpLoad(server.url, connections, headers);
    collectGarbage();
    const calibrationMs = calibrate();
    const cpu0 = server.cpuSeconds();
    const machine0 = machineBusySeconds();
    const self0 = process.cpuUsage();
    const wall0 = performance.now();
    try {
      const result = await body(http);
      const wall = (performance.now() - wall0) / 1000;
      const self = process.cpuUsage(self0);
      const serverCpu = (server.cpuSeconds() - cpu0) / wall;
      const loadgenCpu = (self.user + self.system) / 1e6 / wall;
      const shown = result.sendLagP99 === undefined ? load : `${load}; send lag p99 ${ms(result.sendLagP99)} ms`;
      const run = { mode, calibrationMs, load: shown, result, serverCpu, loadgenCpu, otherCpu: Math.max(0, (machineBusySeconds() - machine0) / wall - serverCpu - loadgenCpu) };
      runs.push(run);
      log(
        `${dialect} ${REQUEST_LABEL[kind]} ${shown}: p50 ${ms(result.p50)} ms, p99 ${ms(result.p99)} ms, max ${ms(result.max)} ms, ${result.throughput.toFixed(0)} req/s, errors ${result.errors}` +
          `${result.errors ? ` (${result.errorSamples[0]})` : ''}, calibration ${calibrationMs.toFixed(0)} ms, load gen heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB, CPU cores: server ${run.serverCpu.toFixed(2)}, load gen ${run.loadgenCpu.toFixed(2)}, rest of machine ${run.otherCpu.toFixed(2)}`,
      );
    } finally {
      await http.pool.close();
    }
  };
  const next = () => {
    const stream = requestStream(kind, subject, createRng(REQUEST_SEED));
    return () => stream().path;
  };
  log(`${dialect} ${REQUEST_LABEL[kind]}: closed loop, 1 client...`);
  await measured('single', 'closed loop, 1 client', (http) => closedLoop(http, next(), { clients: 1, warmupMs: plan.singleWarmupMs, durationMs: plan.singleDurationMs }), 1);
  log(`${dialect} ${REQUEST_LABEL[kind]}: closed loop, ${plan.connections} clients...`);
  await measured(
    'saturated',
    `closed loop, ${plan.connections} clients`,
    (http) => closedLoop(http, next(), { clients: plan.connections, warmupMs: plan.warmupMs, durationMs: plan.durationMs }),
    plan.connections,
  );
  for (const [i, rate] of plan.rate[kind].entries()) {
    log(`${dialect} ${REQUEST_LABEL[kind]}: open loop, ${rate} req/s...`);
    await measured(
      i === 0 ? 'open' : 'open-more',
      `open loop, ${rate} req/s`,
      (http) => openLoop(http, next(), { rate, warmupMs: plan.warmupMs, durationMs: plan.durationMs }),
      plan.connections,
    );
  }
  return runs;
}

/** The API and the driver must answer the same rows, or the comparison means nothing. */
async function checkSameAnswers(server: ServerProcess, run: Executor, subject: Subject): Promise<void> {
  for (const kind of ['get', 'list'] as const) {
    const stream = requestStream(kind, subject, createRng(REQUEST_SEED + 1));
    for (let i = 0; i < 6; i++) {
      const request = stream();
      const response = await fetch(`${server.url}${request.path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      if (!response.ok) throw new Error(`sanity check: ${request.path} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
      const body = (await response.json()) as { id?: string; items?: Array<{ id: string }> };
      const apiIds = kind === 'get' ? [body.id] : body.items!.map((m) => m.id);
      const rows = (await run(request))[0] as Array<{ doc: string }>;
      const driverIds = rows.slice(0, LIST_LIMIT).map((r) => (JSON.parse(r.doc) as { id: string }).id);
      if (JSON.stringify(apiIds) !== JSON.stringify(driverIds)) {
        throw new Error(`sanity check: ${request.path} gave ${apiIds.length} item(s) from the API but ${driverIds.length} from the driver, or in another order`);
      }
    }
  }
}

function renderFleetDirectory(fleet: Fleet, dir: string): number {
  mkdirSync(dir, { recursive: true });
  const modelsByType = new Map<string, Fleet['models']>();
  for (const model of fleet.models) {
    const type = model.id.slice(0, model.id.indexOf(':'));
    modelsByType.set(type, [...(modelsByType.get(type) ?? []), model]);
  }
  let documents = 0;
  // One file per team, in the order `modelfleet export` writes them.
  for (const team of fleet.teams) {
    const entries: Array<{ kind: RegistryKind; input: Record<string, unknown> }> = [{ kind: 'team', input: { ...team } }];
    for (const type of fleet.modelTypes.filter((t) => t.ownerTeam === team.name)) {
      entries.push({ kind: 'modelType', input: { ...type } });
      for (const model of modelsByType.get(type.name) ?? []) entries.push({ kind: 'model', input: { ...model } });
    }
    documents += entries.length;
    writeFileSync(join(dir, `${team.name}.yaml`), renderConfigDocuments(entries));
  }
  return documents;
}

async function measureApply(target: Target, dir: string, applyFleet: Fleet, workDir: string): Promise<ApplyResults> {
  const { dialect } = target;
  // What the CLI does before it sends anything: read, parse and validate the directory.
  let started = performance.now();
  const { documents, problems } = parseConfigFiles(readConfigDirectory(dir));
  problems.push(...validateConfigDocuments(documents, defaultRegistrySettings));
  const inProcessParseMs = performance.now() - started;
  if (problems.length) throw new Error(`the rendered fleet has ${problems.length} problem(s), e.g. ${problems[0]!.file}:${problems[0]!.line}: ${problems[0]!.message}`);
  const desired: DesiredEntry[] = documents.map((d) => ({ kind: d.kind, input: d.input, source: `${d.file}:${d.line}` }));

  log(`${dialect} apply: in process, ${applyFleet.models.length} models...`);
  const fleet = await createModelfleet({ db: target.applyUrl('inproc'), adminToken: ADMIN_TOKEN, dataDir: workDir, logger: silent });
  let inProcessApplyMs: number;
  try {
    started = performance.now();
    const result = await fleet.registry.applyConfig(systemActor, desired, { prune: false, dryRun: false, reason: 'benchmark' });
    inProcessApplyMs = performance.now() - started;
    if (result.summary.create !== desired.length) throw new Error(`in-process apply created ${result.summary.create} entries, expected ${desired.length}`);
  } finally {
    await fleet.close();
  }
  log(`${dialect} apply: in process ${ms(inProcessApplyMs)} ms (parse + validate ${ms(inProcessParseMs)} ms)`);

  const validate = await runProcess([CLI, 'validate', dir]);
  if (validate.code !== 0) throw new Error(`modelfleet validate failed:\n${validate.stderr}`);

  log(`${dialect} apply: modelfleet apply through a server on a fresh database...`);
  const server = await startServerProcess({ db: target.applyUrl('cli'), adminToken: ADMIN_TOKEN, dataDir: workDir });
  let cliApplyMs: number;
  try {
    const apply = await runProcess([CLI, 'apply', dir, '--server', server.url, '--token', ADMIN_TOKEN]);
    if (apply.code !== 0) throw new Error(`modelfleet apply failed (exit ${apply.code}):\n${apply.stderr.slice(-2000)}`);
    if (!apply.stdout.includes(`Applied: ${desired.length} create`)) throw new Error(`modelfleet apply did not report ${desired.length} creations:\n${apply.stdout.slice(-500)}`);
    cliApplyMs = apply.ms;
  } finally {
    await server.stop();
  }
  log(`${dialect} apply: modelfleet apply ${ms(cliApplyMs)} ms end to end (modelfleet validate alone ${ms(validate.ms)} ms)`);
  return { models: applyFleet.models.length, documents: desired.length, cliApplyMs, cliValidateMs: validate.ms, inProcessParseMs, inProcessApplyMs };
}

const SEED_WORKER = fileURLToPath(new URL('./lib/seedWorker.js', import.meta.url));

async function benchReads(target: Target, subject: Subject, plan: Plan, workDir: string): Promise<Omit<DatabaseResults, 'apply'>> {
  const { dialect } = target;
  log(`${dialect}: seeding ${subject.ids.length} models (${subject.types} types) with seedFleet, in a child process...`);
  const seeded = await runProcess([SEED_WORKER, target.url, String(subject.ids.length), String(DEFAULT_FLEET_SEED), workDir], { MODELFLEET_ADMIN_TOKEN: ADMIN_TOKEN });
  if (seeded.code !== 0) throw new Error(`seeding failed (exit ${seeded.code}):\n${seeded.stderr.slice(-2000)}`);
  const { ms: seedMs, create: entries } = JSON.parse(seeded.stdout) as { ms: number; create: number };
  log(`${dialect}: seeded ${entries} entries in ${seconds(seedMs)}`);
  if (dialect === 'postgres') {
    // Autovacuum vacuums and analyzes freshly loaded tables (inserts count since PostgreSQL 13) within
    // a minute or so; without statistics and a visibility map the planner would be judged on a state no
    // running deployment stays in (no index-only scans: the list query reads every row instead).
    const pool = postgresPool(target.url, 1);
    try {
      await pool.query('vacuum analyze');
    } finally {
      await pool.end();
    }
  }

  const driver = dialect === 'sqlite' ? sqliteDriver(target.sqliteFile!) : postgresDriver(target.url);
  const api = { get: [] as ApiRun[], list: [] as ApiRun[] };
  const driverRuns = { get: [] as DriverResult[], list: [] as DriverResult[] };
  let version: string;
  try {
    version = await driver.version();
    const templates = await captureTemplates(driver, subject);
    for (const [name, statements] of templates) log(`${dialect}: '${name}' issues ${statements.length} statement(s): ${statements.map((s) => s.sql.replace(/\s+/g, ' ')).join(' ; ')}`);
    const run = executor(driver, templates);

    log(`${dialect}: starting modelfleet serve in a child process...`);
    const server = await startServerProcess({ db: target.url, adminToken: ADMIN_TOKEN, dataDir: workDir });
    try {
      await checkSameAnswers(server, run, subject);
      for (const kind of ['get', 'list'] as const) api[kind] = await measureApi(server, kind, subject, plan, dialect);
    } finally {
      await server.stop();
    }

    for (const kind of ['get', 'list'] as const) {
      const next = requestStream(kind, subject, createRng(REQUEST_SEED));
      collectGarbage();
      if (dialect === 'sqlite') {
        log(`${dialect} driver peer ${REQUEST_LABEL[kind]}: synchronous loop...`);
        driverRuns[kind].push(driverLoopSync(run, next, plan.driverWarmupMs, plan.driverDurationMs));
      } else {
        for (const clients of [1, plan.connections]) {
          log(`${dialect} driver peer ${REQUEST_LABEL[kind]}: ${clients} client(s)...`);
          collectGarbage();
          driverRuns[kind].push(await driverLoopAsync(run, next, clients, plan.driverWarmupMs, plan.driverDurationMs));
        }
      }
      for (const r of driverRuns[kind]) log(`${dialect} driver peer ${REQUEST_LABEL[kind]}, ${r.clients} client(s): p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms, ${r.throughput.toFixed(0)} req/s`);
    }
  } finally {
    await driver.close();
  }

  return { dialect, version, seedMs, entries, api, driver: driverRuns };
}

async function postgresReachable(url: string): Promise<string | null> {
  const parsed = new URL(url);
  parsed.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: parsed.toString(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return (error as Error).message || String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

function withSchema(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('schema', schema);
  return parsed.toString();
}

// ---------------------------------------------------------------------------------------------------
// Report

function report(results: DatabaseResults[], plan: Plan, skipped: string[], quick: boolean): { markdown: string; problems: string[] } {
  const problems: string[] = [];
  const m = machine();
  const lines: string[] = [];
  lines.push('## Registry: HTTP API against the database driver (`bench/registry.ts`)');
  lines.push('');
  lines.push(`- Run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`npm run bench${quick ? ' -- --quick' : ''}\``);
  lines.push(`- Machine: ${machineLine(m)}; ${results.map((r) => r.version).join(', ')}`);
  lines.push(
    `- Registry: \`generateFleet({ models: ${plan.models} })\` (${results[0]?.entries ?? '?'} entries with teams and types) loaded with \`seedFleet\` in a separate process; ` +
      `the server is \`modelfleet serve\` in a child process (log level warn), the load generator an undici Pool of ${plan.connections} connections in the benchmark process; both share the machine's ${m.cores} cores.`,
  );
  lines.push(
    `- Requests: \`GET /api/v1/models/{id}\` for random ids of the fleet; \`GET /api/v1/models?...&limit=${LIST_LIMIT}\` with one of, at random: \`ownerTeam=T&role=experiment\`, \`surface=S&criticality=C\`, \`funnelStage=F\`.`,
  );
  lines.push(
    `- Loads: closed loop with 1 client (unloaded latency), closed loop with ${plan.connections} clients (saturation: its latency is mostly queueing, ~clients / throughput), ` +
      `and open loop at a fixed offered rate with latency measured from the scheduled send time (no coordinated omission). Warm-up ${plan.warmupMs / 1000} s, then ${plan.durationMs / 1000} s measured (1-client runs: ${plan.singleDurationMs / 1000} s). Latencies in ms (HdrHistogram, µs resolution).`,
  );
  lines.push(
    '- Peer: the statements the store issues for the same request, captured from Kysely and replayed on the driver (better-sqlite3 prepared statements on the same file, synchronously; pg Pool of 10 like the server\'s), rows read but not turned into JSON.',
  );
  lines.push('- PostgreSQL gets `VACUUM ANALYZE` after seeding, as autovacuum soon would; SQLite is left as loaded (modelfleet never runs ANALYZE).');
  const calibrations = results.flatMap((r) => [...r.api.get, ...r.api.list].map((a) => a.calibrationMs));
  lines.push(
    `- Calibration: a fixed CPU task (30,000 JSON round trips of a model document) timed before each run, ${Math.min(...calibrations).toFixed(0)}-${Math.max(...calibrations).toFixed(0)} ms in this run. ` +
      'The same work taking longer means the (virtual) machine was slower at the time, e.g. busy neighbours; compare rows only when it is close.',
  );
  lines.push(
    '- CPU columns: average cores busy during the run, for the server process, the load generator, and the rest of the machine (PostgreSQL\'s backends, and anything else running: a busy rest on SQLite means the run shared the machine).',
  );
  if (skipped.length) lines.push(`- Skipped: ${skipped.join('; ')}`);
  lines.push('');

  const cpu = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
  lines.push('### HTTP API');
  lines.push('');
  const apiRows: string[][] = [];
  for (const r of results) {
    for (const kind of ['get', 'list'] as const) {
      for (const run of r.api[kind]) {
        const x = run.result;
        apiRows.push([
          r.dialect,
          `\`${REQUEST_LABEL[kind]}\``,
          run.load,
          ms(x.p50),
          ms(x.p90),
          ms(x.p99),
          ms(x.max),
          x.throughput.toFixed(0),
          String(x.errors),
          Number.isFinite(run.serverCpu) && x.throughput > 0 ? ms((run.serverCpu / x.throughput) * 1000) : '-',
          `${cpu(run.serverCpu)} / ${cpu(run.loadgenCpu)} / ${cpu(run.otherCpu)}`,
          run.calibrationMs.toFixed(0),
        ]);
        if (x.errors) problems.push(`${r.dialect} ${REQUEST_LABEL[kind]} ${run.load}: ${x.errors} error(s), e.g. ${x.errorSamples[0]}`);
      }
    }
  }
  lines.push(table(['db', 'request', 'load', 'p50', 'p90', 'p99', 'max', 'req/s', 'errors', 'server CPU ms/req', 'CPU cores: server / load gen / rest', 'calibration ms'], apiRows));
  lines.push('');

  lines.push('### Driver peer, and what the API adds');
  lines.push('');
  const peerRows: string[][] = [];
  for (const r of results) {
    for (const kind of ['get', 'list'] as const) {
      const single = r.api[kind].find((a) => a.mode === 'single')!;
      const saturated = r.api[kind].find((a) => a.mode === 'saturated')!;
      for (const d of r.driver[kind]) {
        const sameClients = d.clients === 1 ? single : saturated;
        peerRows.push([
          r.dialect,
          `\`${REQUEST_LABEL[kind]}\``,
          `${d.clients} client${d.clients === 1 ? '' : 's'}`,
          ms(d.p50),
          ms(d.p99),
          d.throughput.toFixed(0),
          `${(single.result.p50 / d.p50).toFixed(1)}x`,
          `${(single.result.p99 / d.p99).toFixed(1)}x`,
          `${(saturated.result.throughput / d.throughput).toFixed(2)}`,
          d.clients === 1 ? '' : `(API at ${d.clients}: p50 ${ms(sameClients.result.p50)}, p99 ${ms(sameClients.result.p99)})`,
        ]);
      }
    }
  }
  lines.push(
    table(
      ['db', 'request', 'driver load', 'driver p50', 'driver p99', 'driver req/s', 'API/driver p50 (1 client)', 'API/driver p99 (1 client)', `API req/s (${plan.connections} clients) / driver req/s`, ''],
      peerRows,
    ),
  );
  lines.push('');

  lines.push(`### Loading and applying`);
  lines.push('');
  const loadRows: string[][] = [];
  for (const r of results) {
    loadRows.push([r.dialect, `\`seedFleet\` of ${plan.models} models into an empty registry (timed inside its own process)`, seconds(r.seedMs), `${Math.round((plan.models / r.seedMs) * 1000)} models/s`]);
    const a = r.apply;
    loadRows.push([r.dialect, `\`modelfleet apply DIR\` of ${a.models} models (${a.documents} documents, one YAML file per team), CLI process end to end against a server on a fresh database`, seconds(a.cliApplyMs), `${Math.round((a.models / a.cliApplyMs) * 1000)} models/s`]);
    loadRows.push([r.dialect, `  of which client side: \`modelfleet validate DIR\` (process start, read, parse, validate)`, seconds(a.cliValidateMs), '']);
    loadRows.push([r.dialect, `\`registry.applyConfig\` of the same documents, in process, fresh database`, seconds(a.inProcessApplyMs), `${Math.round((a.models / a.inProcessApplyMs) * 1000)} models/s`]);
  }
  lines.push(table(['db', 'what', 'time', 'rate'], loadRows));
  lines.push('');

  lines.push('### Targets');
  lines.push('');
  const targetRows: string[][] = [];
  for (const r of results) {
    // The latency targets are set for SQLite, the default store; PostgreSQL is shown against them for reference.
    const judged = r.dialect === 'sqlite';
    for (const [kind, limit] of [['get', 5], ['list', 20]] as const) {
      const open = r.api[kind].find((a) => a.mode === 'open')!;
      const single = r.api[kind].find((a) => a.mode === 'single')!;
      const saturated = r.api[kind].find((a) => a.mode === 'saturated')!;
      const more = r.api[kind].filter((a) => a.mode === 'open-more');
      const met = open.result.p99 < limit;
      if (!met && judged) problems.push(`${r.dialect} ${REQUEST_LABEL[kind]} p99 ${ms(open.result.p99)} ms under ${open.load} (target < ${limit} ms)`);
      targetRows.push([
        `${r.dialect}: \`${REQUEST_LABEL[kind]}\` p99 < ${limit} ms`,
        `**${ms(open.result.p99)} ms** (${open.load})`,
        more.map((a) => `${ms(a.result.p99)} ms at ${a.result.offeredRate} req/s`).join(', '),
        `${ms(single.result.p99)} ms`,
        `${ms(saturated.result.p99)} ms at ${saturated.result.throughput.toFixed(0)} req/s`,
        judged ? (met ? 'met' : '**missed**') : met ? 'met (reference only)' : 'missed (reference only)',
      ]);
    }
    const applySeconds = r.apply.cliApplyMs / 1000;
    const applyMet = applySeconds < 10;
    if (!applyMet) problems.push(`${r.dialect} modelfleet apply of ${r.apply.models} models took ${applySeconds.toFixed(1)} s (target < 10 s)`);
    targetRows.push([`${r.dialect}: \`modelfleet apply\` of ${r.apply.models} models < 10 s`, `**${applySeconds.toFixed(1)} s** (end to end)`, '', '', '', applyMet ? 'met' : '**missed**']);
  }
  if (!results.some((r) => r.dialect === 'sqlite')) targetRows.push(['(SQLite was not run: the latency targets were not judged)', '', '', '', '', '']);
  lines.push(table(['target', 'judged on: open loop', 'open loop, higher rate', '1 client', `${plan.connections} clients (saturation)`, 'status'], targetRows));
  lines.push('');
  lines.push(
    'Latency targets are judged on the first open-loop run: a fixed offered rate well below saturation, timed from the scheduled send. ' +
      'The server is one Node process, so a list page (several ms of CPU) holds up everything behind it: as the offered rate nears its capacity (the 1-client req/s), the tail grows steeply, which the higher rate shows. ' +
      `The closed-loop run with ${plan.connections} clients keeps ${plan.connections} requests queued whatever the server does, so on ${machine().cores} cores its p99 mostly measures that queue (about clients / throughput); it is there for throughput.`,
  );
  return { markdown: lines.join('\n'), problems };
}

// ---------------------------------------------------------------------------------------------------

export async function runRegistryBench(options: RegistryBenchOptions): Promise<BenchOutcome> {
  const plan = options.quick ? QUICK : FULL;
  const workDir = mkdtempSync(join(tmpdir(), 'modelfleet-bench-'));
  const skipped: string[] = [];
  const targets: Target[] = [];
  try {
    if (options.only !== 'postgres') {
      const file = join(workDir, 'registry.db');
      targets.push({
        dialect: 'sqlite',
        url: `sqlite:${file}`,
        sqliteFile: file,
        applyUrl: (which) => `sqlite:${join(workDir, `apply-${which}.db`)}`,
        cleanup: async () => {},
      });
    }
    if (options.only !== 'sqlite') {
      const url = process.env['MODELFLEET_BENCH_POSTGRES_URL'] ?? DEFAULT_POSTGRES_URL;
      const schema = new URL(url).searchParams.get('schema') ?? 'mf_bench';
      const why = await postgresReachable(url);
      if (why) {
        const note = `PostgreSQL at ${url.replace(/\/\/[^@/]*@/, '//')} is unreachable (${why}); set MODELFLEET_BENCH_POSTGRES_URL to include it`;
        log(`skipping PostgreSQL: ${note}`);
        skipped.push(note);
      } else {
        const main = withSchema(url, schema);
        const applyUrls = new Map<string, string>();
        // A stale schema from an interrupted run would make the registry non-empty.
        await dropPostgresSchema(main);
        targets.push({
          dialect: 'postgres',
          url: main,
          applyUrl: (which) => {
            const u = withSchema(url, `${schema}_apply_${which}`);
            applyUrls.set(which, u);
            return u;
          },
          cleanup: async () => {
            await dropPostgresSchema(main);
            for (const u of applyUrls.values()) await dropPostgresSchema(u);
          },
        });
        for (const which of ['inproc', 'cli']) await dropPostgresSchema(withSchema(url, `${schema}_apply_${which}`));
      }
    }

    log(`generating a fleet of ${plan.models} models...`);
    const subject = fleetSubject(plan.models);
    const results: DatabaseResults[] = [];
    try {
      const reads = [];
      for (const target of targets) reads.push({ target, result: await benchReads(target, subject, plan, workDir) });
      // Applies come after every read run: parsing megabytes of YAML in this process leaves garbage
      // whose collection would otherwise stall the load generator of the next database's runs.
      const applyFleet = generateFleet({ models: plan.applyModels, seed: APPLY_FLEET_SEED });
      const applyDir = join(workDir, 'config');
      const documents = renderFleetDirectory(applyFleet, applyDir);
      log(`rendered ${documents} documents of a ${plan.applyModels}-model fleet (seed ${APPLY_FLEET_SEED}) into ${applyFleet.teams.length} YAML files`);
      for (const { target, result } of reads) results.push({ ...result, apply: await measureApply(target, applyDir, applyFleet, workDir) });
    } finally {
      for (const target of targets) await target.cleanup();
    }
    const { markdown, problems } = report(results, plan, skipped, options.quick);
    return { id: 'registry', markdown, problems };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

