import type { Model } from '../registry/model.js';
import type { ModelType } from '../registry/modelType.js';
import type { RegistryService } from '../registry/registryService.js';
import type { IngestCatalog } from './eventBatch.js';

export interface SnapshotEntry {
  model: Model;
  type: ModelType;
  tasks: ReadonlySet<string>;
}

/** The registry as stability sees it at one change sequence number: live models with their types. */
export class RegistrySnapshot implements IngestCatalog {
  constructor(
    readonly seq: number,
    readonly entries: ReadonlyMap<string, SnapshotEntry>,
  ) {}

  model(id: string): { tasks: ReadonlySet<string>; team: string } | undefined {
    const entry = this.entries.get(id);
    return entry ? { tasks: entry.tasks, team: entry.type.ownerTeam } : undefined;
  }
}

const PAGE = 1000;

/**
 * Keeps a snapshot of the registry current: rebuilt when this process commits a change, and when the
 * change sequence moved (other processes' writes), checked at most every `pollMs`. Concurrent callers
 * share one rebuild.
 */
export class RegistrySnapshotSource {
  private snapshot: RegistrySnapshot | null = null;
  private checkedAt = 0;
  private loading: Promise<RegistrySnapshot> | null = null;
  private stale = true;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly registry: RegistryService,
    private readonly pollMs = 1000,
  ) {
    this.unsubscribe = registry.feed.onCommit(() => {
      this.stale = true;
    });
  }

  async current(): Promise<RegistrySnapshot> {
    if (this.snapshot && !this.stale && Date.now() - this.checkedAt < this.pollMs) return this.snapshot;
    return (this.loading ??= this.refresh().finally(() => {
      this.loading = null;
    }));
  }

  close(): void {
    this.unsubscribe();
  }

  private async refresh(): Promise<RegistrySnapshot> {
    this.stale = false;
    const seq = await this.registry.store.latestSeq();
    this.checkedAt = Date.now();
    if (this.snapshot && this.snapshot.seq === seq) return this.snapshot;
    const types = new Map<string, ModelType>();
    let cursor: string | null = null;
    do {
      const page = await this.registry.listModelTypes({ limit: PAGE, cursor });
      for (const type of page.items) types.set(type.name, type);
      cursor = page.nextCursor;
    } while (cursor);
    const entries = new Map<string, SnapshotEntry>();
    cursor = null;
    do {
      const page = await this.registry.listModels({ limit: PAGE, cursor });
      for (const model of page.items) {
        const type = types.get(model.modelType);
        if (!type || model.role === 'retired') continue;
        entries.set(model.id, { model, type, tasks: new Set(type.tasks.map((t) => t.name)) });
      }
      cursor = page.nextCursor;
    } while (cursor);
    this.snapshot = new RegistrySnapshot(seq, entries);
    return this.snapshot;
  }
}
