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
  /** Bumped by every commit of this process: a snapshot built from an earlier count may miss it. */
  private commits = 0;
  private snapshotCommits = -1;
  private loading: { commits: number; promise: Promise<RegistrySnapshot> } | null = null;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly registry: RegistryService,
    private readonly pollMs = 1000,
  ) {
    this.unsubscribe = registry.feed.onCommit(() => {
      this.commits += 1;
    });
  }

  /**
   * A snapshot that holds every change this process committed before the call. A rebuild already
   * running is shared only if it started after those commits; one that started before them could have
   * read the sequence before the last commit, so the caller waits for a fresh one.
   */
  async current(): Promise<RegistrySnapshot> {
    const needed = this.commits;
    if (this.snapshot && this.snapshotCommits >= needed && Date.now() - this.checkedAt < this.pollMs) return this.snapshot;
    while (this.loading && this.loading.commits < needed) await this.loading.promise.catch(() => undefined);
    if (this.loading) return this.loading.promise;
    const commits = this.commits;
    const promise = this.refresh()
      .then((snapshot) => {
        this.snapshotCommits = Math.max(this.snapshotCommits, commits);
        return snapshot;
      })
      .finally(() => {
        if (this.loading?.promise === promise) this.loading = null;
      });
    this.loading = { commits, promise };
    return promise;
  }

  close(): void {
    this.unsubscribe();
  }

  private async refresh(): Promise<RegistrySnapshot> {
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
