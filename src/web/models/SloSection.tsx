import type { ModelSlo } from './apiTypes.js';
import type { BurnRateRuleStatus, SloReport } from '../../stability/slo.js';
import { useApi } from '../api/useApi.js';
import { fmt } from '../components/format.js';
import { ErrorBox, Loading } from '../components/PageState.js';
import { STABILITY_REFRESH_MS } from './stabilityData.js';

const WINDOW_LABEL: Record<string, string> = { '5': '5 min', '30': '30 min', '60': '1 h', '360': '6 h', '4320': '3 d', '40320': '28 d' };
const RULE_LABEL: Record<BurnRateRuleStatus['rule'], string> = { page_fast: 'Fast burn (page)', page_slow: 'Slow burn (page)', ticket: 'Steady burn (ticket)' };

const minutes = (m: number) => (m % 1440 === 0 ? `${m / 1440} d` : m % 60 === 0 ? `${m / 60} h` : `${m} min`);
const burn = (b: number | null) => (b === null ? '—' : `${fmt.num(b, 3)}×`);

/**
 * The model's stability SLO: the share of judged minutes it was stable over 28 days against its tier's
 * objective, the error budget left, how fast each window spends it, and which burn-rate alert fires.
 */
export function SloSection({ id, live }: { id: string; live: boolean }) {
  const slos = useApi<{ at: number | null; items: ModelSlo[] }>(live ? '/slos' : null, { model: id }, STABILITY_REFRESH_MS);
  // Once the model is retired the last answer is stale: the read stops and nothing of it shows.
  const data = live ? slos.data : null;
  const item = data?.items.find((i) => i.model === id) ?? null;
  return (
    <section class="panel model-section" aria-labelledby="slo-title">
      <h2 id="slo-title">SLO and error budget</h2>
      {!live && <p class="muted">A retired model is not evaluated and has no SLO.</p>}
      {live && slos.error && <ErrorBox error={slos.error} title="Could not read the SLO" />}
      {slos.loading && !data && <Loading what="the SLO" />}
      {data && !item && (
        <p class="muted">
          {data.at === null
            ? 'The evaluator has not judged any minute yet, so there is no SLO to report.'
            : 'Not monitored, so no SLO: a model is monitored once it is live and has thresholds for its tasks.'}
        </p>
      )}
      {item && <SloReportView report={item.report} tier={item.tier} at={data!.at} />}
    </section>
  );
}

function SloReportView({ report, tier, at }: { report: SloReport; tier: string; at: number | null }) {
  const remaining = report.errorBudget.remaining;
  const evaluated = report.errorBudget.allowedBadMinutes / (1 - report.objective);
  const days = report.budgetWindowMinutes / 1440;
  return (
    <>
      {report.firing.length ? (
        <div class="callout bad" role="status">
          <strong>Burn-rate alert firing:</strong>{' '}
          {report.firing.map((f) => `${RULE_LABEL[f.rule]}, ${burn(f.longBurn)} and ${burn(f.shortBurn)} against ${f.threshold}×`).join('; ')}.
        </div>
      ) : (
        <p class="callout ok">No burn-rate alert is firing{at !== null ? ` (as of ${fmt.time(at)})` : ''}.</p>
      )}
      <div class="grid cols-4 slo-stats">
        <div class="stat">
          <span class="value">{fmt.pct(report.sli, 2)}</span>
          <span class="label">SLI: stable share of {fmt.int(evaluated)} judged minutes over {days} d</span>
        </div>
        <div class="stat">
          <span class="value">{fmt.pct(report.objective, 2)}</span>
          <span class="label">
            objective for {tier} {report.met === null ? '' : report.met ? <span class="badge ok">met</span> : <span class="badge bad">missed</span>}
          </span>
        </div>
        <div class="stat">
          <span class="value">{fmt.pct(remaining, 0)}</span>
          <span class="label">
            error budget left{remaining < 0 ? ' (overspent)' : ''}: {fmt.int(report.errorBudget.badMinutes)} unstable of {fmt.num(report.errorBudget.allowedBadMinutes, 3)} allowed minutes
          </span>
          <div class="budget-bar" aria-hidden="true">
            <div class={`fill ${remaining <= 0 ? 'spent' : remaining < 0.25 ? 'low' : ''}`} style={{ width: `${Math.max(0, Math.min(1, remaining)) * 100}%` }} />
          </div>
        </div>
        <div class="stat">
          <span class="value">{burn(report.burnRates[60])}</span>
          <span class="label">burn rate over the last hour (1× spends the budget in exactly {days} d; at most {fmt.num(report.maxBurnRate, 3)}× at this objective)</span>
        </div>
      </div>
      <h3>Burn rate per window</h3>
      <table class="burn-table">
        <caption class="visually-hidden">Burn rate per window</caption>
        <thead>
          <tr>
            {Object.keys(report.burnRates).map((w) => (
              <th key={w} scope="col" class="num">
                {WINDOW_LABEL[w] ?? `${w} min`}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr>
            {Object.entries(report.burnRates).map(([w, b]) => (
              <td key={w} class="num">
                {burn(b)}
              </td>
            ))}
          </tr>
        </tbody>
      </table>
      <h3>Burn-rate alerts</h3>
      <table>
        <caption class="visually-hidden">Burn-rate alert rules and whether each fires</caption>
        <thead>
          <tr>
            <th scope="col">rule</th>
            <th scope="col">fires when both windows burn faster than</th>
            <th scope="col" class="num">long window</th>
            <th scope="col" class="num">short window</th>
            <th scope="col">state</th>
          </tr>
        </thead>
        <tbody>
          {Object.values(report.rules).map((r) => (
            <tr key={r.rule}>
              <td>{RULE_LABEL[r.rule]}</td>
              <td>
                {r.threshold}× over {minutes(r.longMinutes)} and {minutes(r.shortMinutes)}
              </td>
              <td class="num">{burn(r.longBurn)}</td>
              <td class="num">{burn(r.shortBurn)}</td>
              <td>
                {r.firing ? <span class="badge bad">firing</span> : r.unreachable ? <span class="badge">cannot fire</span> : <span class="badge ok">not firing</span>}
                {r.note && <div class="muted rule-note">{r.note}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
