import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import pg from 'pg';
import type { Leadership } from '../alerting/stabilityMonitor.js';

/** How long a query on the lock's connection may take before the connection is taken for dead. */
const QUERY_TIMEOUT_MS = 10_000;

/**
 * Leadership through a PostgreSQL advisory lock held on a connection of its own: the lock lives exactly
 * as long as that session, so a leader that exits or crashes frees it at once (its socket closes), one
 * whose host or network went silent within about 25 s (TCP keepalives), with no lease to wait out. A
 * follower tries again each time it is asked. The key is derived from `name` and
 * the `?schema=` of `url`, so deployments (or test runs) in different schemas of one database each
 * have their own leader.
 */
export class PostgresAdvisoryLock implements Leadership {
  private client: pg.Client | null = null;
  private held = false;
  private closed = false;
  private readonly key: string;
  private readonly connectionString: string;
  /** The lock's session's application_name: `modelfleet leader <name> <schema>`. */
  readonly applicationName: string;

  constructor(
    url: string,
    private readonly name: string,
    private readonly logger?: Logger,
  ) {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema') ?? '';
    parsed.searchParams.delete('schema');
    this.connectionString = parsed.toString();
    // Shown in pg_stat_activity, so an operator (or a test) can find the session that leads a deployment.
    this.applicationName = `modelfleet leader ${name} ${schema || 'public'}`.slice(0, 63);
    // Advisory locks are per database; a 64-bit key from the name and schema keeps unrelated locks apart.
    this.key = createHash('sha256').update(`modelfleet\u0000${name}\u0000${schema}`).digest().readBigInt64BE(0).toString();
  }

  /** True while this process holds the lock; otherwise tries to take it (never waits for it). */
  async isLeader(): Promise<boolean> {
    if (this.closed) return false;
    try {
      const client = await this.connection();
      if (this.held) {
        // The lock is ours only while the session lives: a round trip proves it still does.
        await client.query('select 1');
        return true;
      }
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1::bigint) as locked', [this.key]);
      this.held = rows[0]?.locked === true;
      if (this.held) this.logger?.info({ lock: this.name }, 'took the leader lock: this process leads');
      return this.held;
    } catch (error) {
      this.logger?.warn({ lock: this.name, err: (error as Error).message }, 'leader lock connection failed; will try again');
      this.drop();
      return false;
    }
  }

  /** Releases the lock (if held) and closes its connection; this object never leads again. */
  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    if (!client) return;
    this.client = null;
    try {
      if (this.held) await client.query('select pg_advisory_unlock($1::bigint)', [this.key]);
    } catch {
      // Closing the session below frees the lock anyway.
    }
    this.held = false;
    await client.end().catch(() => {});
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: this.applicationName,
      keepAlive: true,
      query_timeout: QUERY_TIMEOUT_MS,
      connectionTimeoutMillis: QUERY_TIMEOUT_MS,
      // The server ends the session (freeing the lock) about 25 s after a leader's host or network goes
      // silent, instead of after the operating system's default of two hours.
      options: '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3',
    });
    // Without a listener, a connection dropped by the server (a restart) would crash the process.
    client.on('error', (error) => {
      if (this.client !== client) return;
      this.logger?.warn({ lock: this.name, err: error.message }, 'leader lock connection lost');
      this.drop();
    });
    await client.connect();
    if (this.closed) {
      await client.end().catch(() => {});
      throw new Error('leader lock closed');
    }
    this.client = client;
    return client;
  }

  private drop(): void {
    const client = this.client;
    this.client = null;
    if (this.held) this.logger?.warn({ lock: this.name }, 'lost the leader lock: this process no longer leads');
    this.held = false;
    // Ending the session frees the lock on the server if it still holds it, so the next try starts clean.
    client?.end().catch(() => {});
  }
}
