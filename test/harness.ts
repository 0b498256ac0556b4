import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pino from 'pino';
import { createModelfleet, listen, type Modelfleet, type ModelfleetOptions, type RunningServer } from '../src/modelfleet.js';
import { dropPostgresSchema } from '../src/store/database.js';

/** The databases every integration suite runs against; PostgreSQL only when its URL is set (CI sets it). */
export const POSTGRES_URL = process.env['MODELFLEET_TEST_POSTGRES_URL'];

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty database for one test server. */
  freshUrl(): string;
  cleanup(url: string): Promise<void>;
}

export const testDatabases: TestDatabase[] = [
  { name: 'sqlite', freshUrl: () => 'sqlite::memory:', cleanup: async () => {} },
  {
    name: 'postgres',
    freshUrl: () => `${POSTGRES_URL}${POSTGRES_URL!.includes('?') ? '&' : '?'}schema=mf_test_${randomBytes(6).toString('hex')}`,
    cleanup: (url) => dropPostgresSchema(url),
  },
];

/** Runs `body` once per database; PostgreSQL is skipped visibly when MODELFLEET_TEST_POSTGRES_URL is unset. */
export function forEachDatabase(body: (db: TestDatabase) => void): void {
  for (const db of testDatabases) {
    if (db.name === 'postgres' && !POSTGRES_URL) {
      test('postgres suite', { skip: 'MODELFLEET_TEST_POSTGRES_URL is unset; set it to run this suite on PostgreSQL' }, () => {});
      continue;
    }
    body(db);
  }
}

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A real server on an ephemeral port over a fresh database, with a small client for tests. */
export class TestServer {
  private constructor(
    readonly fleet: Modelfleet,
    readonly server: RunningServer,
    private readonly db: TestDatabase,
    private readonly dbUrl: string,
  ) {}

  static async start(db: TestDatabase, options: Partial<ModelfleetOptions> = {}): Promise<TestServer> {
    const url = options.db ?? db.freshUrl();
    const fleet = await createModelfleet({ db: url, adminToken: ADMIN_TOKEN, dataDir: '/tmp/modelfleet-test', logger: pino({ level: 'silent' }), ...options });
    const server = await listen(fleet, { port: 0 });
    return new TestServer(fleet, server, db, url);
  }

  get url(): string {
    return this.server.url;
  }

  async call<T = any>(
    method: string,
    path: string,
    options: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string>; contentType?: string } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? ADMIN_TOKEN : options.token;
    if (token) headers['authorization'] = `Bearer ${token}`;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] ??= options.contentType ?? 'application/json';
    const response = await fetch(`${this.url}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  }

  /** Issues a token and returns its secret. */
  async token(name: string, role: 'admin' | 'member' | 'viewer' | 'ingest', team: string | null = null): Promise<string> {
    const response = await this.call('POST', '/tokens', { body: { name, role, team } });
    if (response.status !== 201) throw new Error(`token: ${JSON.stringify(response.body)}`);
    return response.body.token;
  }

  /** Stops the server and closes its database connections, keeping the data (to restart on it). */
  async stop(): Promise<void> {
    await this.server.close();
    await this.fleet.close();
  }

  async close(): Promise<void> {
    await this.stop();
    await this.db.cleanup(this.dbUrl);
  }
}

/** A clock tests move by hand, so time-based rules (lateness, windows, SLOs) run in simulated time. */
export class ManualClock {
  constructor(private ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
  set(ms: number): void {
    this.ms = ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  get epochMs(): number {
    return this.ms;
  }
}

/** Small valid entries to build on in tests. */
export const sample = {
  team: (name = 'feed-ranking') => ({ name, description: `${name} team`, oncallRotation: `${name}-oncall` }),
  modelType: (name = 'ig_feed_main_mtml', ownerTeam = 'feed-ranking', extra: Record<string, unknown> = {}) => ({
    name,
    description: 'Ranks the main feed',
    funnelStage: 'late_stage_ranking',
    ownerTeam,
    oncall: { rotation: `${ownerTeam}-oncall`, coverage: 'business_hours' },
    criticality: 'TIER2',
    tasks: [
      { name: 'PLIKE', description: 'probability of a like' },
      { name: 'PCOMMENT', description: 'probability of a comment' },
    ],
    ...extra,
  }),
  model: (id = 'ig_feed_main_mtml:v1', extra: Record<string, unknown> = {}) => ({ id, role: 'experiment', trafficShare: 0.1, ...extra }),
};

/** Creates a team, a type and models, failing loudly when any step does not succeed. */
export async function seed(server: TestServer, entries: { teams?: unknown[]; modelTypes?: unknown[]; models?: unknown[] }): Promise<void> {
  for (const [path, list] of [['/teams', entries.teams], ['/model-types', entries.modelTypes], ['/models', entries.models]] as const) {
    for (const body of list ?? []) {
      const response = await server.call('POST', path, { body });
      if (response.status !== 201) throw new Error(`seed ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    }
  }
}
