import type { Model } from '../registry/model.js';
import type { ModelType } from '../registry/modelType.js';
import type { Criticality } from '../registry/vocabulary.js';
import type { SnapshotEntry } from '../stability/registrySnapshot.js';
import { type AlertmanagerConfig, routeAlert } from './generate/alertmanagerConfig.js';
import { generatedSeverity } from './generate/alertSeverity.js';

/** What can leave a live model unwatched. */
export const CoverageGapKind = ['thresholds', 'routing', 'oncall'] as const;
export type CoverageGapKind = (typeof CoverageGapKind)[number];

export interface CoverageGap {
  kind: CoverageGapKind;
  model: string;
  modelType: string;
  tier: Criticality;
  team: string;
  role: Model['role'];
  /** What is missing, where. */
  message: string;
  /** How to fix it. */
  fix: string;
}

export interface CoverageReport {
  /** The registry change sequence number the report was computed at. */
  seq: number;
  /** Live models that must be covered. */
  models: number;
  /** Of those, the models with no gap. */
  covered: number;
  gaps: CoverageGap[];
  /** Worth knowing but not a gap, e.g. a receiver still at its placeholder URL. */
  notes: string[];
}

/**
 * Whether a model must be watched: baselines, experiments, shadows and holdouts always; a candidate
 * once it holds traffic; never a retired model.
 */
export function needsCoverage(model: Model): boolean {
  if (model.role === 'retired') return false;
  if (model.role === 'candidate') return model.trafficShare > 0;
  return true;
}

/**
 * Every way a live model can go unwatched: tasks of its type without thresholds (nothing judges
 * them), a tier whose alerts reach no receiver that delivers, and an owner without on-call (no rotation,
 * or a TIER0/TIER1 model whose rotation is not 24x7). Each gap says what to fix.
 */
export function monitoringCoverage(seq: number, entries: Iterable<SnapshotEntry>, alertmanager: AlertmanagerConfig, notes: string[] = []): CoverageReport {
  const gaps: CoverageGap[] = [];
  const routingGaps = new Map<Criticality, string | null>();
  let models = 0;
  const gapModels = new Set<string>();
  const sorted = [...entries].sort((a, b) => (a.model.id < b.model.id ? -1 : a.model.id > b.model.id ? 1 : 0));
  for (const { model, type } of sorted) {
    if (!needsCoverage(model)) continue;
    models += 1;
    const gap = (kind: CoverageGapKind, message: string, fix: string) => {
      gaps.push({ kind, model: model.id, modelType: type.name, tier: model.effectiveCriticality, team: type.ownerTeam, role: model.role, message, fix });
      gapModels.add(model.id);
    };
    const missing = type.tasks.map((t) => t.name).filter((task) => model.thresholds[task] === undefined);
    if (missing.length) {
      gap(
        'thresholds',
        `${model.id} has no thresholds for ${missing.join(', ')} (of its type's tasks ${type.tasks.map((t) => t.name).join(', ')}): no rule judges ${missing.length === 1 ? 'that task' : 'those tasks'}`,
        `set thresholds.${missing[0]} = {calibration: {min, max}, neMax} (and the other missing tasks) with modelfleet models update ${model.id} -f FILE, or learn them from its healthy history: modelfleet thresholds learn ${model.id}`,
      );
    }
    const tier = model.effectiveCriticality;
    if (!routingGaps.has(tier)) routingGaps.set(tier, routingProblem(tier, alertmanager));
    const routing = routingGaps.get(tier);
    if (routing) gap('routing', `${tier} alerts for ${model.id} ${routing}`, 'give that receiver a webhook URL in the server\'s monitoring options (docs/monitoring.md) and regenerate the Alertmanager config');
    const oncall = oncallProblem(type, tier);
    if (oncall) gap('oncall', `${oncall.message} (model type ${type.name}, owned by team ${type.ownerTeam})`, oncall.fix);
  }
  return { seq, models, covered: models - gapModels.size, gaps, notes };
}

/** Null when a ModelUnstable alert of the tier reaches a receiver that delivers, at any hour; otherwise what goes wrong. */
function routingProblem(tier: Criticality, config: AlertmanagerConfig): string | null {
  const routed = routeAlert(config, { alertname: 'ModelUnstable', tier, severity: generatedSeverity(tier, 'page'), role: 'baseline' });
  if (!routed.length) return 'match no Alertmanager route';
  const silent = routed.filter((r) => !r.delivers);
  if (!silent.length) return null;
  return `are routed to receiver${silent.length === 1 ? '' : 's'} ${silent.map((r) => `'${r.receiver}'`).join(', ')}, which ${silent.length === 1 ? 'has' : 'have'} no webhook URL: they reach nobody`;
}

function oncallProblem(type: ModelType, tier: Criticality): { message: string; fix: string } | null {
  if (!type.oncall.rotation.trim()) {
    return { message: 'no on-call rotation', fix: `set oncall.rotation on model type ${type.name} to the rotation that answers its alerts` };
  }
  if ((tier === 'TIER0' || tier === 'TIER1') && type.oncall.coverage !== '24x7') {
    return {
      message: `${tier} pages at any hour, but on-call ${type.oncall.rotation} covers ${type.oncall.coverage.replace('_', ' ')}`,
      fix: `set oncall.coverage to 24x7 on ${type.name}, or lower the model's criticality to TIER2 or below`,
    };
  }
  return null;
}
