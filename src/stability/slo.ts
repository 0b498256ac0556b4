import { z } from 'zod';
import { Criticality } from '../registry/vocabulary.js';

/**
 * The stability SLO of one model: the share of evaluated minutes in which the model was stable, held to
 * an objective by tier, with a 28-day error budget and multiwindow burn-rate alerts in the manner of the
 * Google SRE workbook (chapter "Alerting on SLOs") and of Sloth and Pyrra.
 *
 * Only minutes judged 'stable' or 'unstable' are evaluated. 'insufficient_data' and 'unmonitored'
 * minutes are left out of both the numerator and the denominator: a quiet night must neither spend the
 * budget nor dilute it.
 */

/** Default objective per tier: the less critical the model, the more unstable minutes it may have. */
export const DEFAULT_OBJECTIVES: Record<Criticality, number> = {
  TIER0: 0.999,
  TIER1: 0.995,
  TIER2: 0.99,
  TIER3: 0.95,
  TIER4: 0.9,
};

const OBJECTIVE_MESSAGE = 'an SLO objective is a fraction strictly between 0 and 1, e.g. 0.995 for 99.5%';

/** One objective: the target share of evaluated minutes that are stable. */
export const SloObjectiveSchema = z.number().gt(0, { error: OBJECTIVE_MESSAGE }).lt(1, { error: OBJECTIVE_MESSAGE });

/** Per-tier overrides of {@link DEFAULT_OBJECTIVES}; tiers left out keep their default. */
export const SloObjectivesSchema = z.partialRecord(z.enum(Criticality), SloObjectiveSchema);
export type SloObjectives = z.infer<typeof SloObjectivesSchema>;

/** The objective a tier is held to, with `overrides` (already validated) taking precedence over the defaults. */
export function objectiveFor(tier: Criticality, overrides: SloObjectives = {}): number {
  return overrides[tier] ?? DEFAULT_OBJECTIVES[tier];
}

/** The error budget is counted over a rolling 28 days: four whole weeks, so weekday and weekend mix the same every time. */
// Written as a literal (28 * 24 * 60) so its type is the number itself and window records stay exhaustive.
export const BUDGET_WINDOW_MINUTES = 40_320;

/**
 * The multiwindow, multi-burn-rate alerts. A rule fires when both its long and its short window burn the
 * budget faster than `factor` times the sustainable rate: the long window makes it significant (14.4 for
 * an hour spends about 2% of a 28-day budget), the short one makes it stop firing soon after the problem ends.
 */
export const BURN_RATE_RULES = [
  { name: 'page_fast', longMinutes: 60, shortMinutes: 5, factor: 14.4, severity: 'page' },
  { name: 'page_slow', longMinutes: 360, shortMinutes: 30, factor: 6, severity: 'page' },
  { name: 'ticket', longMinutes: 4320, shortMinutes: 360, factor: 1, severity: 'ticket' },
] as const;
export type BurnRateRule = (typeof BURN_RATE_RULES)[number];
export type BurnRateRuleName = BurnRateRule['name'];
export type BurnRateSeverity = BurnRateRule['severity'];

/** Every window length (minutes) the SLO needs counts for: the rules' windows and the budget window. */
export const SLO_WINDOWS_MINUTES = [5, 30, 60, 360, 4320, BUDGET_WINDOW_MINUTES] as const;
export type SloWindowMinutes = (typeof SLO_WINDOWS_MINUTES)[number];

/**
 * A burn rate counts as above a factor only when it exceeds it by more than this relative margin. The
 * comparison is strict (as in the SRE workbook), but floating point makes "exactly at the threshold"
 * land on either side: 216 bad of 360 at a 90% objective computes as 6.000000000000001, not 6.
 */
export const BURN_RATE_TOLERANCE = 1e-9;

/** Minute counts of one trailing window. */
export interface SloWindowCounts {
  /** Minutes judged stable or unstable. */
  evaluated: number;
  /** Of those, the minutes judged stable. */
  stable: number;
}

/** What {@link evaluateSlo} judges: an objective and the minute counts of every window. */
export interface SloInput {
  /** In (0, 1), e.g. from {@link objectiveFor}. */
  objective: number;
  /** Counts for every window in {@link SLO_WINDOWS_MINUTES}, each ending at the same evaluation minute. */
  windows: Readonly<Record<SloWindowMinutes, SloWindowCounts>>;
}

/** Where one burn-rate rule stands. */
export interface BurnRateRuleStatus {
  rule: BurnRateRuleName;
  severity: BurnRateSeverity;
  longMinutes: number;
  shortMinutes: number;
  /** The burn-rate factor both windows must exceed. */
  threshold: number;
  /** The same threshold as a share of bad minutes: threshold * (1 - objective). */
  errorRateThreshold: number;
  /** null when the window has no evaluated minute. */
  longBurn: number | null;
  shortBurn: number | null;
  firing: boolean;
  /**
   * True when even a window of nothing but unstable minutes cannot exceed the threshold, because
   * threshold * (1 - objective) >= 1: the rule can never fire at this objective and the slower rules
   * are the ones that catch a fast burn.
   */
  unreachable: boolean;
  /** Why the rule cannot fire, for the report; null when it can. */
  note: string | null;
}

/** A rule whose long and short windows both burn faster than its threshold. */
export interface FiringBurnRateAlert {
  rule: BurnRateRuleName;
  severity: BurnRateSeverity;
  longBurn: number;
  shortBurn: number;
  threshold: number;
}

/** The SLO of one model at one evaluation minute. */
export interface SloReport {
  objective: number;
  budgetWindowMinutes: number;
  /** Stable / evaluated minutes over the budget window; null when nothing was evaluated. */
  sli: number | null;
  /** sli >= objective; null when nothing was evaluated. */
  met: boolean | null;
  errorBudget: {
    /** (1 - objective) * evaluated minutes of the budget window. */
    allowedBadMinutes: number;
    /** Unstable minutes in the budget window. */
    badMinutes: number;
    /** 1 - bad / allowed: 1 untouched, 0 spent, negative overspent. 1 when nothing was evaluated. */
    remaining: number;
  };
  /** (bad / evaluated) / (1 - objective) per window; 1 spends the budget exactly over the budget window. */
  burnRates: Record<SloWindowMinutes, number | null>;
  /** The highest burn rate possible at this objective (every evaluated minute unstable): 1 / (1 - objective). */
  maxBurnRate: number;
  rules: Record<BurnRateRuleName, BurnRateRuleStatus>;
  /** The firing rules, pages before tickets, fastest first. */
  firing: FiringBurnRateAlert[];
}

/** True when `burn` is strictly above `factor`, ignoring floating-point noise (see {@link BURN_RATE_TOLERANCE}). */
export function burnExceeds(burn: number, factor: number): boolean {
  return burn - factor > factor * BURN_RATE_TOLERANCE;
}

/**
 * Computes the SLI, the error budget, the burn rate of every window and the burn-rate alerts of one
 * model at one evaluation minute. Throws RangeError on an objective outside (0, 1) or on counts that
 * cannot be minutes (negative, not finite, more stable than evaluated): a bad count must not silently
 * open or close an alert.
 */
export function evaluateSlo(input: SloInput): SloReport {
  const { objective } = input;
  if (!SloObjectiveSchema.safeParse(objective).success) throw new RangeError(`${OBJECTIVE_MESSAGE}; got ${objective}`);
  const budgetFraction = 1 - objective;

  const burnRates = {} as Record<SloWindowMinutes, number | null>;
  for (const minutes of SLO_WINDOWS_MINUTES) {
    const counts = checkedCounts(input.windows, minutes);
    burnRates[minutes] = counts.evaluated > 0 ? (counts.evaluated - counts.stable) / counts.evaluated / budgetFraction : null;
  }

  const budget = checkedCounts(input.windows, BUDGET_WINDOW_MINUTES);
  const badMinutes = budget.evaluated - budget.stable;
  const allowedBadMinutes = budgetFraction * budget.evaluated;
  const sli = budget.evaluated > 0 ? budget.stable / budget.evaluated : null;

  const maxBurnRate = 1 / budgetFraction;
  const rules = {} as Record<BurnRateRuleName, BurnRateRuleStatus>;
  const firing: FiringBurnRateAlert[] = [];
  for (const rule of BURN_RATE_RULES) {
    const longBurn = burnRates[rule.longMinutes];
    const shortBurn = burnRates[rule.shortMinutes];
    const unreachable = !burnExceeds(maxBurnRate, rule.factor);
    // A model judged for two minutes, one of them unstable, would otherwise "burn" 50x on every window
    // at once: a rule fires only once its long window holds at least one short window of verdicts.
    const enoughData = input.windows[rule.longMinutes].evaluated >= rule.shortMinutes;
    const isFiring = enoughData && longBurn !== null && shortBurn !== null && burnExceeds(longBurn, rule.factor) && burnExceeds(shortBurn, rule.factor);
    rules[rule.name] = {
      rule: rule.name,
      severity: rule.severity,
      longMinutes: rule.longMinutes,
      shortMinutes: rule.shortMinutes,
      threshold: rule.factor,
      errorRateThreshold: rule.factor * budgetFraction,
      longBurn,
      shortBurn,
      firing: isFiring,
      unreachable,
      note: unreachable
        ? `at objective ${percent(objective)} the burn rate is at most ${round(maxBurnRate)} (every minute unstable), never above ${rule.factor}: ${rule.name} cannot fire, slower rules catch a fast burn`
        : enoughData
          ? null
          : `${input.windows[rule.longMinutes].evaluated} judged minutes in the ${rule.longMinutes}-minute window, fewer than the ${rule.shortMinutes} this rule needs before it can fire`,
    };
    if (isFiring && longBurn !== null && shortBurn !== null) {
      firing.push({ rule: rule.name, severity: rule.severity, longBurn, shortBurn, threshold: rule.factor });
    }
  }

  return {
    objective,
    budgetWindowMinutes: BUDGET_WINDOW_MINUTES,
    sli,
    met: sli === null ? null : sli >= objective,
    errorBudget: {
      allowedBadMinutes,
      badMinutes,
      // With nothing evaluated nothing was spent; otherwise this is 1 minus the budget window's burn rate.
      remaining: budget.evaluated > 0 ? 1 - badMinutes / allowedBadMinutes : 1,
    },
    burnRates,
    maxBurnRate,
    rules,
    firing,
  };
}

function checkedCounts(windows: Readonly<Record<SloWindowMinutes, SloWindowCounts>>, minutes: SloWindowMinutes): SloWindowCounts {
  const counts = windows[minutes] as SloWindowCounts | undefined;
  if (!counts) throw new RangeError(`no counts for the ${minutes}-minute window: give every window in SLO_WINDOWS_MINUTES (zeros when nothing was evaluated)`);
  const { evaluated, stable } = counts;
  if (!Number.isFinite(evaluated) || evaluated < 0 || !Number.isFinite(stable) || stable < 0 || stable > evaluated) {
    throw new RangeError(`the ${minutes}-minute window's counts must satisfy 0 <= stable <= evaluated (finite); got evaluated ${evaluated}, stable ${stable}`);
  }
  return counts;
}

const round = (x: number): number => Math.round(x * 100) / 100;
const percent = (x: number): string => `${Number((x * 100).toPrecision(6))}%`;
