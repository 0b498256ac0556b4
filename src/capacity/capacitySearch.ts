/**
 * The capacity search as a pure function of the steps run so far: it answers which step to run next
 * or the verdict. No clock, no network: the estimator runs the steps and feeds their outcomes back,
 * and tests feed synthetic outcomes.
 *
 * Ramp geometrically from the start rate until a stopper is breached; bisect between the last good
 * and the first bad rate until they are within the tolerance; then hold the good rate for longer
 * confirmation runs. A failed confirmation makes that rate bad and the search goes on below it.
 */

/** Why a search ended. */
export const Verdict = {
  /** The good and bad rates are within the tolerance and the good one held its confirmation runs. */
  converged: 'converged',
  /** The target stopped accepting connections, or failed with errors at the first rate. */
  target_failed: 'target_failed',
  /** The generator could not offer a rate or shaped its result: nothing is known above the last good rate. */
  generator_bound: 'generator_bound',
  /** The maximum rate asked for held, confirmations included: capacity is at least that. */
  max_qps_reached: 'max_qps_reached',
  /** Not even the start rate held, or the search ran out of steps. */
  no_stable_rate: 'no_stable_rate',
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Kinds of step: the geometric ramp, the bisection, the confirmation runs. */
export const Phase = ['ramp', 'search', 'confirm'] as const;
export type Phase = (typeof Phase)[number];

export interface SearchConfig {
  /** The first rate tried. */
  startQps: number;
  /** No rate above this is tried; null: no bound. */
  maxQps: number | null;
  /** Each ramp step multiplies the rate by this. */
  growth: number;
  /** Bisect until (bad - good) / good is at most this. */
  tolerance: number;
  /** Confirmation runs the answer must pass, one after another. */
  confirmations: number;
  /** Give up (no_stable_rate) after this many steps. */
  maxSteps: number;
}

/** The defaults: start at 10 QPS, double, 5% tolerance, two confirmations, at most 40 steps. */
export const DEFAULT_SEARCH: SearchConfig = { startQps: 10, maxQps: null, growth: 2, tolerance: 0.05, confirmations: 2, maxSteps: 40 };

/** What the search needs to know of a step that ran. */
export interface StepOutcome {
  phase: Phase;
  offeredQps: number;
  pass: boolean;
  /** The stopper shown for it (the first breached), for the verdict's wording. */
  stopper: string | null;
  /** Every stopper it breached. */
  breached: readonly string[];
  /** Set when the generator limited the step: the search stops, as nothing can be concluded from it. */
  generatorLimit: string | null;
  /** Set when the target fell over during the step. */
  targetDown: string | null;
}

/** The next step to run, with the bounds known so far. */
export interface NextStep {
  done: false;
  phase: Phase;
  offeredQps: number;
  /** Highest rate that held so far (not since disproved by a confirmation). */
  good: number | null;
  /** Lowest rate that failed so far. */
  bad: number | null;
  /** Confirmation runs passed at the current good rate. */
  confirmed: number;
}

/** The search's answer. */
export interface SearchResult {
  done: true;
  verdict: Verdict;
  /** The maximum stable rate (converged), or the maximum asked for (max_qps_reached); otherwise null. */
  maxQps: number | null;
  good: number | null;
  bad: number | null;
  /** One sentence saying what was found and, when it is not an answer, why. */
  reason: string;
}

export type SearchDecision = NextStep | SearchResult;

/** Rates shown with 4 significant digits: steps a tolerance apart stay distinct. */
export function roundRate(rate: number): number {
  return Number(rate.toPrecision(4));
}

/** Checks a search configuration; returns the problems (empty when it is usable). */
export function searchConfigProblems(config: SearchConfig): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (!(config.startQps > 0) || !Number.isFinite(config.startQps)) problems.push({ path: 'startQps', message: `must be a positive rate, not ${config.startQps}` });
  if (config.maxQps !== null && (!(config.maxQps > 0) || !Number.isFinite(config.maxQps))) problems.push({ path: 'maxQps', message: `must be a positive rate, not ${config.maxQps}` });
  else if (config.maxQps !== null && config.maxQps < config.startQps) problems.push({ path: 'maxQps', message: `${config.maxQps} is below the start rate ${config.startQps}: lower the start rate or raise the maximum` });
  if (!(config.tolerance > 0 && config.tolerance <= 0.5)) problems.push({ path: 'tolerance', message: `must be above 0 and at most 0.5 (e.g. 0.05 for 5%), not ${config.tolerance}` });
  if (!(config.growth > 1) || !Number.isFinite(config.growth)) problems.push({ path: 'growth', message: `must be above 1, not ${config.growth}` });
  if (!Number.isInteger(config.confirmations) || config.confirmations < 0) problems.push({ path: 'confirmations', message: `must be a whole number, 0 or more, not ${config.confirmations}` });
  if (!Number.isInteger(config.maxSteps) || config.maxSteps < 1) problems.push({ path: 'maxSteps', message: `must be a whole number above 0, not ${config.maxSteps}` });
  return problems;
}

const qps = (rate: number) => `${roundRate(rate)} QPS`;

/**
 * Given the configuration and every step run so far (in order), decides the next step or the verdict.
 * Deterministic and pure: the same history always gives the same decision.
 */
export function nextStep(config: SearchConfig, history: readonly StepOutcome[]): SearchDecision {
  let good: number | null = null;
  let bad: number | null = null;
  // Rates that held outside confirmation; a failed confirmation drops those at or above it.
  let held: number[] = [];
  let confirmed = 0;
  const done = (verdict: Verdict, reason: string, maxQps: number | null = null): SearchResult => ({ done: true, verdict, maxQps, good, bad, reason });

  for (const [i, step] of history.entries()) {
    const where = `at ${qps(step.offeredQps)}`;
    if (step.targetDown) {
      return done('target_failed', i === 0 ? `the target failed at the first rate, ${where}: ${step.targetDown}` : `the target fell over ${where}: ${step.targetDown}${good !== null ? `; it held ${qps(good)} before` : ''}`);
    }
    if (step.generatorLimit) {
      return done(
        'generator_bound',
        `the generator could not test ${qps(step.offeredQps)}, so this is no capacity: ${step.generatorLimit}. ${good !== null ? `The target held ${qps(good)}; above that it is unknown` : 'Nothing is known of the target'}`,
      );
    }
    if (step.phase === 'confirm') {
      if (step.pass) confirmed += 1;
      else {
        bad = bad === null ? step.offeredQps : Math.min(bad, step.offeredQps);
        held = held.filter((rate) => rate < step.offeredQps);
        good = held.length ? Math.max(...held) : null;
        confirmed = 0;
      }
      continue;
    }
    if (step.pass) {
      held.push(step.offeredQps);
      good = Math.max(good ?? 0, step.offeredQps);
      confirmed = 0;
    } else {
      if (i === 0 && step.breached.includes('error_rate')) return done('target_failed', `the target failed at the first rate, ${where}: its error rate was above the limit`);
      bad = bad === null ? step.offeredQps : Math.min(bad, step.offeredQps);
    }
  }

  if (history.length >= config.maxSteps) return done('no_stable_rate', `no answer within ${config.maxSteps} steps${good !== null && bad !== null ? `: between ${qps(good)} and ${qps(bad)}` : ''}`);
  const next = (phase: Phase, offeredQps: number): NextStep => ({ done: false, phase, offeredQps, good, bad, confirmed });

  if (good === null) {
    if (!history.length) return next('ramp', config.maxQps === null ? config.startQps : Math.min(config.startQps, config.maxQps));
    const first = history[0]!;
    const why = !first.pass ? `even the start rate ${qps(first.offeredQps)} breached ${first.stopper ?? 'a stopper'}: try a lower --start-qps` : `no rate held its confirmation runs, down to ${qps(first.offeredQps)}: try a lower --start-qps`;
    return done('no_stable_rate', why);
  }

  if (bad === null) {
    if (config.maxQps !== null && good >= config.maxQps) {
      if (confirmed >= config.confirmations) {
        return done('max_qps_reached', `the target held the maximum asked for, ${qps(config.maxQps)}, through ${config.confirmations} confirmation run(s): its capacity is at least that`, config.maxQps);
      }
      return next('confirm', config.maxQps);
    }
    const ramped = roundRate(good * config.growth);
    return next('ramp', config.maxQps === null ? ramped : Math.min(ramped, config.maxQps));
  }

  if ((bad - good) / good <= config.tolerance) {
    if (confirmed >= config.confirmations) {
      return done('converged', `${qps(good)} held through ${config.confirmations} confirmation run(s); ${qps(bad)} did not`, good);
    }
    return next('confirm', good);
  }
  const middle = (good + bad) / 2;
  const rounded = roundRate(middle);
  return next('search', rounded > good && rounded < bad ? rounded : middle);
}
