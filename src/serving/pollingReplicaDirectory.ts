import type { ReplicaDirectory } from './executor.js';

/** One ready replica as a directory lists it. */
export interface ReplicaEndpoint {
  modelId: string;
  endpoint: string;
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * A {@link ReplicaDirectory} kept current by polling a list of ready replicas, e.g. the `replicas`
 * table written by the executors of another process. Lookups are synchronous reads of the last list;
 * a failed poll keeps it (replicas do not vanish because the database blinked).
 */
export class PollingReplicaDirectory implements ReplicaDirectory {
  private byModel = new Map<string, readonly string[]>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;

  constructor(
    private readonly list: () => Promise<ReadonlyArray<ReplicaEndpoint>>,
    private readonly options: { intervalMs?: number; log?: (line: string) => void } = {},
  ) {}

  /** Polls once, then every `intervalMs` (default 1 s) until {@link stop}. Rejects when the first poll fails. */
  async start(): Promise<void> {
    await this.poll();
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll().catch((error: Error) => (this.options.log ?? ((l) => process.stderr.write(`${l}\n`)))(`router: could not list the ready replicas (keeping the last list): ${error.message}`)), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  endpoints(modelId: string): readonly string[] {
    return this.byModel.get(modelId) ?? NONE;
  }

  /** Reads the list now; concurrent calls share one read. */
  poll(): Promise<void> {
    return (this.polling ??= this.list()
      .then((rows) => {
        const next = new Map<string, string[]>();
        for (const { modelId, endpoint } of rows) {
          const list = next.get(modelId);
          if (!list) next.set(modelId, [endpoint]);
          else if (!list.includes(endpoint)) list.push(endpoint);
        }
        // Endpoints in a stable order, and the previous array kept when nothing changed, so the
        // balancer's round-robin turn is not reshuffled by every poll.
        const merged = new Map<string, readonly string[]>();
        for (const [modelId, list] of next) {
          list.sort();
          const before = this.byModel.get(modelId);
          merged.set(modelId, before && before.length === list.length && before.every((e, i) => e === list[i]) ? before : Object.freeze(list));
        }
        this.byModel = merged;
      })
      .finally(() => {
        this.polling = null;
      }));
  }
}
