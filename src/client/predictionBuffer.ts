import { checkModel, checkTask } from './prediction.js';
import { PredictionBatch } from './predictionBatch.js';
import { PredictionColumns } from './predictionColumns.js';

/**
 * The open batch: predictions grouped by (model, task) as they arrive, until `seal()` turns them into
 * a {@link PredictionBatch}. Groups are found through a map per model so the hot path allocates no
 * key string; model and task are checked when their group is created, once per batch, not per event.
 */
export class PredictionBuffer {
  private readonly byModel = new Map<string, Map<string, PredictionColumns>>();
  private readonly order: PredictionColumns[] = [];
  /** Events in the open batch. */
  length = 0;

  /** @param maxBatchEvents the most events one batch holds; the caller seals before exceeding it. */
  constructor(private readonly maxBatchEvents: number) {}

  /** The group of (model, task), created after checking both; throws a TypeError naming a bad one. */
  group(model: unknown, task: unknown): PredictionColumns {
    const tasks = typeof model === 'string' ? this.byModel.get(model) : undefined;
    const found = typeof task === 'string' ? tasks?.get(task) : undefined;
    if (found) return found;
    checkModel(model);
    checkTask(task);
    const group = new PredictionColumns(model, task, this.maxBatchEvents);
    if (tasks) tasks.set(task, group);
    else this.byModel.set(model, new Map([[task, group]]));
    this.order.push(group);
    return group;
  }

  /** Counts an event pushed into one of this buffer's groups. */
  added(): void {
    this.length += 1;
  }

  /** The open batch as a sealed one (null when empty); the buffer starts over empty. */
  seal(): PredictionBatch | null {
    if (this.length === 0) return null;
    const batch = new PredictionBatch(this.order.filter((group) => group.length > 0));
    this.byModel.clear();
    this.order.length = 0;
    this.length = 0;
    return batch;
  }
}
