/** Registry snapshot entries shared by the monitoring generator tests. */
import { storiesModel, storiesType } from '../../alerting/testKit.js';
import type { Model } from '../../registry/model.js';
import type { ModelType } from '../../registry/modelType.js';
import { RegistrySnapshot, type SnapshotEntry } from '../../stability/registrySnapshot.js';

export { storiesModel, storiesType };

export const feedType: ModelType = {
  ...storiesType,
  name: 'ig_feed_main_dnn',
  description: 'Ranks the main feed {{ not a template }}',
  ownerTeam: 'feed-ranking',
  oncall: { rotation: 'feed-oncall', coverage: 'business_hours' },
  criticality: 'TIER2',
  criticalityJustification: null,
  tasks: [{ name: 'PLIKE', description: 'probability of a like' }],
  baselineModelId: 'ig_feed_main_dnn:v1',
  parsed: { app: 'ig', surface: 'feed', subsurfaces: ['main'], architecture: 'dnn' },
};

const band = { calibration: { min: 0.9, max: 1.1 }, neMax: 0.95, minPositives: 0, source: 'static' as const };

export const feedModel = (id: string, role: Model['role'], extra: Partial<Model> = {}): Model =>
  storiesModel(role, { id, modelType: feedType.name, effectiveCriticality: 'TIER2', thresholds: { PLIKE: band }, trafficShare: role === 'baseline' ? 0.9 : 0.1, ...extra });

export const entryOf = (model: Model, type: ModelType): SnapshotEntry => ({ model, type, tasks: new Set(type.tasks.map((t) => t.name)) });

export function snapshotOf(entries: SnapshotEntry[], seq = 1): RegistrySnapshot {
  return new RegistrySnapshot(seq, new Map(entries.map((e) => [e.model.id, e])));
}
