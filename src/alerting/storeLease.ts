import { randomUUID } from 'node:crypto';
import type { Clock } from '../registry/registryService.js';
import type { StabilityStore } from '../stability/stabilityStore.js';
import type { Leadership } from './stabilityMonitor.js';

/**
 * Leadership through a lease row in the store, for databases without sessions to hold a lock
 * (SQLite): the holder renews it on every call, and when it stops renewing (or releases it on close)
 * another process takes it once it expires.
 */
export class StoreLease implements Leadership {
  /** Who this process is among the processes sharing the database. */
  private readonly holder = `${process.pid}-${randomUUID()}`;

  constructor(
    private readonly store: Pick<StabilityStore, 'acquireLease' | 'releaseLease'>,
    private readonly clock: Clock,
    private readonly name: string,
    /** Long enough to outlast a slow tick; short enough that another process takes over within minutes. */
    private readonly ttlMs: number,
  ) {}

  isLeader(): Promise<boolean> {
    return this.store.acquireLease(this.name, this.holder, this.clock.now().getTime(), this.ttlMs);
  }

  async close(): Promise<void> {
    await this.store.releaseLease(this.name, this.holder).catch(() => {});
  }
}
