import type { ModelStatus } from '../stability/evaluation.js';
import type { Model } from './model.js';
import type { ModelType } from './modelType.js';
import { Criticality, FunnelStage, ModelRole } from './vocabulary.js';

/**
 * The catalog: every model of the registry in one compact table, for browsing and filtering all of it
 * at once (the console's registry page). Rows are arrays in the order of {@link CATALOG_FIELDS}, so
 * 10,000 models do not repeat 10,000 times each key.
 */

/** The columns of a catalog row, in order. */
export const CATALOG_FIELDS = ['id', 'modelType', 'surface', 'funnelStage', 'tier', 'team', 'oncall', 'role', 'trafficShare', 'status', 'retired'] as const;
export type CatalogField = (typeof CATALOG_FIELDS)[number];

/** One model: `tier` is its effective tier, `team` and `oncall` its type's owner and rotation. */
export type CatalogRow = [
  id: string,
  modelType: string,
  surface: string,
  funnelStage: FunnelStage,
  tier: Criticality,
  team: string,
  oncall: string,
  role: ModelRole,
  trafficShare: number,
  status: ModelStatus,
  retired: boolean,
];

/** The fields a catalog is filtered by; the catalog lists the values each takes. */
export const CATALOG_FILTER_FIELDS = ['surface', 'funnelStage', 'tier', 'role', 'team', 'status'] as const;
export type CatalogFilterField = (typeof CATALOG_FILTER_FIELDS)[number];

/** Stability statuses, worst first: the order filters list them in. */
export const CATALOG_STATUS_ORDER = ['unstable', 'insufficient_data', 'stable', 'unmonitored'] as const satisfies readonly ModelStatus[];

export interface Catalog {
  fields: readonly CatalogField[];
  rows: CatalogRow[];
  /** The distinct values of each filterable field among the rows: vocabularies in their own order, names sorted. */
  values: Record<CatalogFilterField, string[]>;
  /** The registry's change sequence number the rows were read at. */
  seq: number;
  /** Epoch ms of the evaluation minute the statuses come from; null before the first evaluation. */
  evaluatedAt: number | null;
}

export interface CatalogInput {
  types: readonly ModelType[];
  models: readonly Model[];
  /** The latest verdict per model id, as the stability engine last wrote it. */
  statuses: ReadonlyMap<string, ModelStatus>;
  seq: number;
  evaluatedAt: number | null;
}

/**
 * A model's status as the fleet summary counts it: a live model with thresholds has its latest verdict
 * (insufficient data until it has one); a model without thresholds, or retired, is not monitored.
 * The thresholds rule is the stability engine's (`isMonitored`), restated here so the console can
 * import this module's types without the engine; a test holds the two together.
 */
export function catalogStatus(model: Model, statuses: ReadonlyMap<string, ModelStatus>): ModelStatus {
  if (model.role === 'retired' || Object.keys(model.thresholds).length === 0) return 'unmonitored';
  return statuses.get(model.id) ?? 'insufficient_data';
}

/** Builds the catalog's rows (by id) and the values of its filters. A model whose type is missing is left out. */
export function buildCatalog(input: CatalogInput): Catalog {
  const types = new Map(input.types.map((t) => [t.name, t]));
  const rows: CatalogRow[] = [];
  for (const model of input.models) {
    const type = types.get(model.modelType);
    if (!type) continue;
    rows.push([
      model.id,
      type.name,
      type.parsed.surface,
      type.funnelStage,
      model.effectiveCriticality,
      type.ownerTeam,
      type.oncall.rotation,
      model.role,
      model.trafficShare,
      catalogStatus(model, input.statuses),
      model.role === 'retired',
    ]);
  }
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { fields: CATALOG_FIELDS, rows, values: filterValues(rows), seq: input.seq, evaluatedAt: input.evaluatedAt };
}

const column = (field: CatalogField) => CATALOG_FIELDS.indexOf(field);

function filterValues(rows: readonly CatalogRow[]): Record<CatalogFilterField, string[]> {
  const seen = (field: CatalogFilterField) => new Set(rows.map((row) => row[column(field)] as string));
  const inOrder = (field: CatalogFilterField, order: readonly string[]) => {
    const present = seen(field);
    return order.filter((value) => present.has(value));
  };
  const sorted = (field: CatalogFilterField) => [...seen(field)].sort();
  return {
    surface: sorted('surface'),
    funnelStage: inOrder('funnelStage', FunnelStage),
    tier: inOrder('tier', Criticality),
    role: inOrder('role', ModelRole),
    team: sorted('team'),
    status: inOrder('status', CATALOG_STATUS_ORDER),
  };
}
