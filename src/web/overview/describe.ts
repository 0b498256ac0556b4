import { formatBand, formatValue } from '../../stability/bandText.js';

export { formatBand, formatValue };

/**
 * Words and links the overview and teams pages share: violations read the same as in alerts, and
 * every count links to the registry filtered to the models it counts.
 */

export interface Band {
  min: number | null;
  max: number | null;
}

export interface Violation {
  task: string;
  metric: string;
  value: number;
  band: Band;
}

const METRIC_LABEL: Record<string, string> = { calibration: 'calibration', ne: 'NE' };

/** "PLIKE calibration 1.31, healthy [0.9, 1.1]". */
export function describeViolation(v: Violation): string {
  return `${v.task} ${METRIC_LABEL[v.metric] ?? v.metric} ${formatValue(v.value)}, healthy ${formatBand(v.band)}`;
}

/** The filters the registry page reads from its URL. */
export interface RegistryFilter {
  q?: string;
  surface?: string;
  stage?: string;
  tier?: string;
  team?: string;
  role?: string;
  status?: string;
}

/** `/registry?...` with the given filters. */
export function registryHref(filter: RegistryFilter): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) if (value) params.set(key, value);
  const qs = params.toString();
  return `/registry${qs ? `?${qs}` : ''}`;
}

/**
 * The registry filter for a stability rollup's surface key, `<app>_<surface>` (e.g. ig_reels): the
 * registry filters on the surface alone, so the search narrows it to the app's model types too.
 */
export function surfaceFilter(key: string): RegistryFilter {
  const cut = key.indexOf('_');
  if (cut < 0) return { surface: key };
  return { surface: key.slice(cut + 1), q: `${key}_` };
}

const TIERS = ['TIER0', 'TIER1', 'TIER2', 'TIER3', 'TIER4'];

/** 0 for TIER0 (most critical) to 4; unknown tiers last. */
export const tierRank = (tier: string): number => {
  const rank = TIERS.indexOf(tier);
  return rank < 0 ? TIERS.length : rank;
};

/** Capacity units as people read them: at most two decimals, thousands grouped. */
export const units = (n: number | null | undefined): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: 2 });

/** snake_case vocabulary as words: "late_stage_ranking" -> "late stage ranking". */
export const words = (value: string): string => value.replace(/_/g, ' ');
