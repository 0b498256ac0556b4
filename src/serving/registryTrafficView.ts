import type { RegistrySnapshotSource } from '../stability/registrySnapshot.js';

/**
 * The registry as the simulated fleet reads it, synchronously: each live model's traffic share and
 * per-replica capacity, and each type's demand. Refreshed from the registry snapshot before the
 * launch engine acts, so the simulated traffic follows every share a launch writes.
 */
export class RegistryTrafficView {
  private shares = new Map<string, number>();
  private capacities = new Map<string, number>();
  private demand = new Map<string, number>();

  constructor(
    private readonly snapshots: RegistrySnapshotSource,
    /** Demand of a type when it has no baseline sizing to derive it from. */
    private readonly defaultDemandQps = 100,
    /** Per-replica capacity of a model without a capacity profile. */
    private readonly defaultCapacityQps = 100,
  ) {}

  async refresh(): Promise<void> {
    const snapshot = await this.snapshots.current();
    const shares = new Map<string, number>();
    const capacities = new Map<string, number>();
    const demand = new Map<string, number>();
    for (const { model, type } of snapshot.entries.values()) {
      shares.set(model.id, model.trafficShare);
      if (model.capacity) capacities.set(model.id, model.capacity.maxQpsPerReplica);
      // A type's demand, read from how its baseline was sized: its replicas' capacity less a 30% headroom.
      if (model.role === 'baseline' && model.capacity && model.capacity.replicas > 0) demand.set(type.name, (model.capacity.replicas * model.capacity.maxQpsPerReplica) / 1.3);
    }
    this.shares = shares;
    this.capacities = capacities;
    this.demand = demand;
  }

  trafficShare(modelId: string): number {
    return this.shares.get(modelId) ?? 0;
  }

  capacityQps(modelId: string): number {
    return this.capacities.get(modelId) ?? this.defaultCapacityQps;
  }

  demandQps(modelType: string): number {
    return this.demand.get(modelType) ?? this.defaultDemandQps;
  }
}
