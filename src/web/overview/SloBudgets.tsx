import type { ModelSlo } from './apiTypes.js';
import { TierBadge } from '../components/Badges.js';
import { fmt, modelHref } from '../components/format.js';
import { formatValue } from './describe.js';

const TOP = 10;

/** Models spending their error budget: some budget gone or burning now, least left first, then fastest burn. */
export function burning(items: readonly ModelSlo[]): ModelSlo[] {
  const hour = (s: ModelSlo) => s.report.burnRates[60] ?? 0;
  return items
    .filter((s) => s.report.sli !== null && (s.report.errorBudget.remaining < 1 || hour(s) > 0))
    .sort((a, b) => a.report.errorBudget.remaining - b.report.errorBudget.remaining || hour(b) - hour(a))
    .slice(0, TOP);
}

function BudgetLeft({ remaining }: { remaining: number }) {
  const left = Math.min(1, Math.max(0, remaining));
  return (
    <div class="budget">
      <div class="budget-bar" aria-hidden="true">
        <span class={remaining <= 0 ? 'seg-bad' : remaining < 0.5 ? 'seg-warn' : 'seg-ok'} style={{ width: `${left * 100}%` }} />
      </div>
      <span class={remaining <= 0 ? 'error-text' : ''}>{remaining >= 0 ? `${fmt.pct(remaining, 0)} left` : `overspent ${formatValue(1 - remaining)}× the budget`}</span>
    </div>
  );
}

/** The top error budgets burning, with a bar for how much budget is left. */
export function SloBudgets({ items }: { items: ModelSlo[] }) {
  const rows = burning(items);
  return (
    <section class="panel spaced" aria-labelledby="slo-title">
      <h2 id="slo-title">Error budgets burning</h2>
      <p class="muted fine">
        Each monitored model must be stable in a share of its judged minutes over 28 days (its tier's objective). The rest is its error budget; a burn rate of 1
        spends it exactly in 28 days.
      </p>
      {rows.length === 0 ? (
        <p class="callout ok">No model is spending its error budget.</p>
      ) : (
        <table data-testid="slos">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Tier</th>
              <th scope="col" class="num">
                Objective
              </th>
              <th scope="col" class="num">
                Stable, 28 d
              </th>
              <th scope="col">Budget left</th>
              <th scope="col" class="num">
                Burn rate, 1 h
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.model}>
                <td>
                  <a href={modelHref(s.model)}>{s.model}</a>
                  {s.report.firing.length > 0 && <div class="fine error-text">firing: {s.report.firing.map((f) => f.rule.replace(/_/g, ' ')).join(', ')}</div>}
                </td>
                <td>
                  <TierBadge tier={s.tier} />
                </td>
                <td class="num">{fmt.pct(s.report.objective, 1)}</td>
                <td class="num">{fmt.pct(s.report.sli, 1)}</td>
                <td>
                  <BudgetLeft remaining={s.report.errorBudget.remaining} />
                </td>
                <td class="num">{s.report.burnRates[60] === null ? '—' : `${formatValue(s.report.burnRates[60])}×`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
