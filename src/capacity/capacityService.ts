import { conflict } from '../core/errors.js';
import type { Actor } from '../registry/actor.js';
import type { ChangeRecord } from '../registry/change.js';
import type { RegistryService } from '../registry/registryService.js';
import { estimateCost, type CostEstimate, type Footprint } from './cost.js';

export interface CostRequest {
  peakQps: number;
  headroom?: number | undefined;
  minReplicas?: number | undefined;
  /** Overrides the unit cost on the model's capacity profile. */
  unitCost?: number | undefined;
  /** Write the replicas (and unit cost) to the model's capacity profile. */
  write?: boolean | undefined;
}

export interface ModelCost extends CostEstimate {
  model: string;
  baselineModel: string | null;
  change: ChangeRecord | null;
}

/** Launch sizing from the registry: a model's measured capacity, the demand, and its baseline's footprint. */
export class CapacityService {
  constructor(private readonly registry: RegistryService) {}

  async cost(actor: Actor, modelId: string, request: CostRequest, reason: string | null = null): Promise<ModelCost> {
    const model = await this.registry.getModel(modelId);
    const profile = model.capacity;
    if (!profile) {
      throw conflict(`${modelId} has no capacity profile: measure one replica with 'modelfleet capacity estimate' (or set capacity.maxQpsPerReplica and unitCost on the model) first`);
    }
    const unitCost = request.unitCost ?? profile.unitCost;
    const type = await this.registry.getModelType(model.modelType);
    const baselineId = type.baselineModelId && type.baselineModelId !== modelId ? type.baselineModelId : null;
    let baseline: Footprint | null = null;
    if (baselineId) {
      const b = (await this.registry.getModel(baselineId)).capacity;
      if (b) baseline = { replicas: b.replicas, cost: b.replicas * b.unitCost };
    }
    const estimate = estimateCost(
      {
        peakQps: request.peakQps,
        maxQpsPerReplica: profile.maxQpsPerReplica,
        unitCost,
        ...(request.headroom !== undefined ? { headroom: request.headroom } : {}),
        ...(request.minReplicas !== undefined ? { minReplicas: request.minReplicas } : {}),
      },
      baseline,
    );
    let change: ChangeRecord | null = null;
    if (request.write) {
      const outcome = await this.registry.execute(
        actor,
        [{ action: 'patch', kind: 'model', key: modelId, mergePatch: { capacity: { replicas: estimate.replicas, unitCost } }, ifVersion: model.version }],
        { reason: reason ?? `sized for a peak of ${request.peakQps} QPS with ${Math.round(estimate.input.headroom * 100)}% headroom: ${estimate.replicas} replicas` },
      );
      change = outcome.changes[0] ?? null;
    }
    return { ...estimate, model: modelId, baselineModel: baselineId, change };
  }
}
