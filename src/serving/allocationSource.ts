import { isDomainError } from '../core/errors.js';
import type { RegistrySnapshot } from '../stability/registrySnapshot.js';
import { buildAllocation, type Allocation, type AllocationModel } from './allocation.js';

/** Every model type's allocation at one moment. */
export interface AllocationTable {
  /** Changes whenever any allocation may have; the router drops its per-version caches then. */
  readonly version: number;
  readonly allocations: ReadonlyMap<string, Allocation>;
}

/**
 * Where the router learns the shares. It asks `current()` about every half second, so the answer must
 * be cheap when nothing changed; `typeExists` is asked only for a type with no allocation, to tell an
 * unknown name (404) from a type without a live model (503).
 */
export interface AllocationSource {
  current(): Promise<AllocationTable>;
  typeExists(modelType: string): Promise<boolean>;
}

/** The allocations of the given models, grouped by type. */
export function allocationTable(version: number, models: Iterable<AllocationModel & { modelType: string }>): AllocationTable {
  const byType = new Map<string, AllocationModel[]>();
  for (const model of models) {
    let list = byType.get(model.modelType);
    if (!list) byType.set(model.modelType, (list = []));
    list.push(model);
  }
  const allocations = new Map<string, Allocation>();
  for (const [modelType, list] of byType) allocations.set(modelType, buildAllocation(modelType, list));
  return { version, allocations };
}

/**
 * Allocations from the live registry: rebuilt whenever the registry snapshot moves to a new change
 * sequence (the snapshot source notices this process's writes at once and other processes' within its
 * poll interval, a second by default).
 */
export class RegistryAllocationSource implements AllocationSource {
  private table: AllocationTable | null = null;

  constructor(
    private readonly snapshots: { current(): Promise<RegistrySnapshot> },
    private readonly registry: { getModelType(name: string): Promise<unknown> },
  ) {}

  async current(): Promise<AllocationTable> {
    const snapshot = await this.snapshots.current();
    if (this.table && this.table.version === snapshot.seq) return this.table;
    const models: Array<AllocationModel & { modelType: string }> = [];
    for (const { model } of snapshot.entries.values()) models.push({ id: model.id, modelType: model.modelType, role: model.role, trafficShare: model.trafficShare });
    this.table = allocationTable(snapshot.seq, models);
    return this.table;
  }

  async typeExists(modelType: string): Promise<boolean> {
    try {
      await this.registry.getModelType(modelType);
      return true;
    } catch (error) {
      if (isDomainError(error) && error.code === 'not_found') return false;
      throw error;
    }
  }
}
