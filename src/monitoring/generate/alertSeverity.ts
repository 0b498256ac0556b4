import { type Severity, mostSevere } from '../../alerting/alert.js';
import type { Criticality } from '../../registry/vocabulary.js';

/**
 * The loudest severity a tier's alerts may carry in generated rules. The same policy as
 * `alerting/routing.ts`: TIER0-TIER2 may page (TIER2 only in business hours, which Alertmanager's
 * time intervals decide, not the rule), TIER3 tickets, TIER4 is a heads-up. A unit test holds the two
 * in agreement.
 */
export const LOUDEST_SEVERITY: Record<Criticality, Severity> = {
  TIER0: 'page',
  TIER1: 'page',
  TIER2: 'page',
  TIER3: 'ticket',
  TIER4: 'heads_up',
};

/** What a rule asks for (a fast burn asks for a page, a slow one for a ticket), capped by the tier. */
export function generatedSeverity(tier: Criticality, requested: Severity = 'page'): Severity {
  const loudest = LOUDEST_SEVERITY[tier];
  return mostSevere(requested, loudest) === requested ? loudest : requested;
}
