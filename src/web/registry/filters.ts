import { Criticality, FunnelStage, ModelRole } from '../../registry/vocabulary.js';
import type { ModelStatus } from '../../stability/evaluation.js';
import type { CatalogModel } from './catalogData.js';

/**
 * The registry page's filters and sort, kept in the URL (`q, surface, stage, tier, role, team, status,
 * retired, sort`) so links from other pages and shared links open the same view, and back/forward
 * steps through it.
 */
export interface Filters {
  q: string;
  surface: string;
  stage: string;
  tier: string;
  role: string;
  team: string;
  status: string;
  /** Whether retired models are listed too. */
  retired: boolean;
}

export const NO_FILTERS: Filters = { q: '', surface: '', stage: '', tier: '', role: '', team: '', status: '', retired: false };

export const SORT_KEYS = ['id', 'type', 'surface', 'stage', 'tier', 'team', 'role', 'share', 'status'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';
export interface Sort {
  key: SortKey;
  dir: SortDir;
}
export const DEFAULT_SORT: Sort = { key: 'id', dir: 'asc' };

export function filtersFromQuery(query: Record<string, string | undefined>): Filters {
  return {
    q: query['q'] ?? '',
    surface: query['surface'] ?? '',
    stage: query['stage'] ?? '',
    tier: query['tier'] ?? '',
    role: query['role'] ?? '',
    team: query['team'] ?? '',
    status: query['status'] ?? '',
    retired: query['retired'] === '1' || query['retired'] === 'true',
  };
}

/** `sort=share` ascending, `sort=-share` descending; anything else is the default (model id, A to Z). */
export function sortFromQuery(query: Record<string, string | undefined>): Sort {
  const raw = query['sort'] ?? '';
  const key = raw.replace(/^-/, '');
  if (!(SORT_KEYS as readonly string[]).includes(key)) return DEFAULT_SORT;
  return { key: key as SortKey, dir: raw.startsWith('-') ? 'desc' : 'asc' };
}

/** `/registry?...` holding only what differs from the defaults. */
export function registryUrl(filters: Filters, sort: Sort): string {
  const params = new URLSearchParams();
  for (const key of ['q', 'surface', 'stage', 'tier', 'role', 'team', 'status'] as const) if (filters[key]) params.set(key, filters[key]);
  if (filters.retired) params.set('retired', '1');
  if (sort.key !== DEFAULT_SORT.key || sort.dir !== DEFAULT_SORT.dir) params.set('sort', `${sort.dir === 'desc' ? '-' : ''}${sort.key}`);
  const qs = params.toString();
  return `/registry${qs ? `?${qs}` : ''}`;
}

export const hasFilters = (f: Filters): boolean => Boolean(f.q.trim() || f.surface || f.stage || f.tier || f.role || f.team || f.status || f.retired);

/** Whether retired models are in view: when asked for, or when the role filter asks for them by name. */
export const includesRetired = (f: Filters): boolean => f.retired || f.role === 'retired';

/** A test for one model; the search terms are lower-cased once here, not per model. */
export function matcher(f: Filters): (m: CatalogModel) => boolean {
  const terms = f.q.toLowerCase().split(/\s+/).filter(Boolean);
  const retired = includesRetired(f);
  return (m) =>
    (retired || !m.retired) &&
    (!f.surface || m.surface === f.surface) &&
    (!f.stage || m.funnelStage === f.stage) &&
    (!f.tier || m.tier === f.tier) &&
    (!f.role || m.role === f.role) &&
    (!f.team || m.team === f.team) &&
    (!f.status || m.status === f.status) &&
    terms.every((t) => m.text.includes(t));
}

/** Stability statuses, worst first: how the status column sorts and the summary reads. */
export const STATUS_ORDER = ['unstable', 'insufficient_data', 'stable', 'unmonitored'] as const satisfies readonly ModelStatus[];

const rankIn = (order: readonly string[]) => (value: string) => {
  const i = order.indexOf(value);
  return i < 0 ? order.length : i;
};
const tierRank = rankIn(Criticality);
const stageRank = rankIn(FunnelStage);
const roleRank = rankIn(ModelRole);
const statusRank = rankIn(STATUS_ORDER);
const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const COMPARE: Record<SortKey, (a: CatalogModel, b: CatalogModel) => number> = {
  id: (a, b) => text(a.id, b.id),
  type: (a, b) => text(a.modelType, b.modelType),
  surface: (a, b) => text(a.surface, b.surface),
  stage: (a, b) => stageRank(a.funnelStage) - stageRank(b.funnelStage),
  tier: (a, b) => tierRank(a.tier) - tierRank(b.tier),
  team: (a, b) => text(a.team, b.team),
  role: (a, b) => roleRank(a.role) - roleRank(b.role),
  share: (a, b) => a.trafficShare - b.trafficShare,
  status: (a, b) => statusRank(a.status) - statusRank(b.status),
};

/** A sorted copy; ties keep model id order whichever way the column runs, so rows do not jump between refreshes. */
export function sortModels(models: readonly CatalogModel[], sort: Sort): CatalogModel[] {
  const compare = COMPARE[sort.key];
  const sign = sort.dir === 'asc' ? 1 : -1;
  return [...models].sort((a, b) => sign * compare(a, b) || text(a.id, b.id));
}
