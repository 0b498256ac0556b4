import { EventEmitter } from 'node:events';
import type { ChangeRecord } from './change.js';
import type { RegistryStore } from './registryStore.js';
import type { EntityKind } from './vocabulary.js';

/**
 * Followers of the ledger (routers, alerting, the console) ask for changes after a sequence number and
 * may wait for them. Writes in this process wake waiters at once; a short poll covers writes made by
 * other processes sharing the database.
 */
export class ChangeFeed {
  private readonly events = new EventEmitter();
  constructor(
    private readonly store: RegistryStore,
    private readonly pollMs = 1000,
  ) {
    this.events.setMaxListeners(0);
  }

  committed(): void {
    this.events.emit('commit');
  }

  /** Calls `listener` after each write this process commits; returns the unsubscribe function. */
  onCommit(listener: () => void): () => void {
    this.events.on('commit', listener);
    return () => this.events.off('commit', listener);
  }

  async changesAfter(
    after: number,
    options: { limit: number; waitSeconds: number; entity?: EntityKind | undefined; entityId?: string | undefined; signal?: AbortSignal | undefined },
  ): Promise<ChangeRecord[]> {
    const deadline = Date.now() + options.waitSeconds * 1000;
    for (;;) {
      const changes = await this.store.listChanges(after, options.limit, { entity: options.entity, entityId: options.entityId });
      const left = deadline - Date.now();
      if (changes.length || left <= 0 || options.signal?.aborted) return changes;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.events.off('commit', done);
          options.signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, this.pollMs));
        this.events.on('commit', done);
        options.signal?.addEventListener('abort', done);
      });
    }
  }
}
