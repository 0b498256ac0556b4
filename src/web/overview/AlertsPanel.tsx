import type { Alert } from '../../alerting/alert.js';
import { RoleBadge, TierBadge } from '../components/Badges.js';
import { fmt, modelHref, teamHref } from '../components/format.js';
import { describeViolation, formatValue, tierRank } from './describe.js';

const SEVERITY_RANK: Record<string, number> = { page: 0, ticket: 1, heads_up: 2 };
const SEVERITY_LABEL: Record<string, string> = { page: 'pages on-call', ticket: 'ticket', heads_up: 'heads-up' };
const SHOWN_VIOLATIONS = 3;

/** Worst first: the most critical tier, then the loudest severity, then the longest firing. */
export function worstFirst(alerts: readonly Alert[]): Alert[] {
  return [...alerts].sort(
    (a, b) =>
      tierRank(a.details.tier) - tierRank(b.details.tier) ||
      (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) ||
      Date.parse(a.details.since) - Date.parse(b.details.since),
  );
}

function WhatFired({ alert }: { alert: Alert }) {
  const { tasks, burn } = alert.details;
  if (alert.kind === 'StabilityBudgetBurn' && burn) {
    return (
      <>
        <strong>Error budget burning</strong>
        <div>
          {formatValue(burn.burnRate)}× the sustainable rate over {burn.window} (fires at {formatValue(burn.threshold)}×)
        </div>
      </>
    );
  }
  return (
    <>
      <strong>Unstable</strong>
      <ul class="bare">
        {tasks.slice(0, SHOWN_VIOLATIONS).map((v) => (
          <li key={`${v.task}:${v.metric}`}>{describeViolation(v)}</li>
        ))}
        {tasks.length > SHOWN_VIOLATIONS && <li class="muted">and {tasks.length - SHOWN_VIOLATIONS} more on the model's page</li>}
      </ul>
    </>
  );
}

/** The firing alerts, worst tier first, each with who owns the model and the alert's own first response. */
export function AlertsPanel({ alerts }: { alerts: Alert[] }) {
  const sorted = worstFirst(alerts);
  return (
    <section class="panel spaced" id="alerts" aria-labelledby="alerts-title">
      <h2 id="alerts-title">Alerts firing {alerts.length > 0 && <span class="count-pill bad">{alerts.length}</span>}</h2>
      {sorted.length === 0 ? (
        <p class="callout ok">No alerts firing. Alerts fire when a monitored model leaves its healthy bands or burns its stability error budget too fast.</p>
      ) : (
        <table data-testid="alerts">
          <thead>
            <tr>
              <th scope="col">Tier</th>
              <th scope="col">Model</th>
              <th scope="col">What fired</th>
              <th scope="col">Since</th>
              <th scope="col">Owner and on-call</th>
              <th scope="col">What to do</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((alert) => {
              const d = alert.details;
              return (
                <tr key={alert.fingerprint}>
                  <td>
                    <TierBadge tier={d.tier} />
                    <div class="muted fine">{SEVERITY_LABEL[alert.severity] ?? alert.severity}</div>
                  </td>
                  <td>
                    <a href={modelHref(alert.modelId)} class="alert-model">
                      {alert.modelId}
                    </a>
                    <div class="fine">
                      <RoleBadge role={d.role} /> <span class="muted">{fmt.pct(d.trafficShare, 0)} of traffic</span>
                    </div>
                  </td>
                  <td>
                    <WhatFired alert={alert} />
                  </td>
                  <td class="nowrap">
                    <time dateTime={d.since} title={fmt.time(d.since)}>
                      {fmt.ago(d.since)}
                    </time>
                  </td>
                  <td>
                    <a href={teamHref(d.ownerTeam)}>{d.ownerTeam}</a>
                    <div class="muted fine">
                      {d.oncall.rotation} ({d.oncall.coverage.replace(/_/g, ' ')})
                    </div>
                  </td>
                  <td class="action">
                    {d.action.text}
                    {d.action.cli && (
                      <div>
                        <code>{d.action.cli}</code>
                      </div>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
