import { useEffect } from 'preact/hooks';
import type { Alert } from '../../alerting/alert.js';
import { useApi } from '../api/useApi.js';
import { StatusBadge } from '../components/Badges.js';
import { fmt } from '../components/format.js';
import { ErrorBox, Loading } from '../components/PageState.js';
import { STABILITY_REFRESH_MS } from './stabilityData.js';

const SEVERITY: Record<Alert['severity'], { cls: string; label: string }> = {
  page: { cls: 'bad', label: 'page' },
  ticket: { cls: 'warn', label: 'ticket' },
  heads_up: { cls: '', label: 'heads-up' },
};
const KIND: Record<Alert['kind'], string> = { ModelUnstable: 'Unstable', StabilityBudgetBurn: 'Burning its error budget' };

/** Resolved alerts shown before the rest are folded away: the firing ones matter at 3 a.m. */
const RESOLVED_SHOWN = 5;

/** The model's alerts, firing first, each with the first response it recommends. */
export function AlertsSection({ id, retired, refreshKey }: { id: string; retired: boolean; refreshKey: number }) {
  const alerts = useApi<{ items: Alert[] }>('/alerts', { model: id }, STABILITY_REFRESH_MS);
  const reload = alerts.reload;
  useEffect(() => {
    if (refreshKey) reload();
  }, [refreshKey]);
  const items = [...(alerts.data?.items ?? [])].sort((a, b) => (a.state === b.state ? (a.startsAt < b.startsAt ? 1 : -1) : a.state === 'firing' ? -1 : 1));
  const firing = items.filter((a) => a.state === 'firing');
  const resolved = items.filter((a) => a.state !== 'firing');
  return (
    <section class="panel model-section" aria-labelledby="alerts-title">
      <h2 id="alerts-title">
        Alerts {alerts.data && <span class="muted count">({firing.length} firing, {resolved.length} resolved)</span>}
      </h2>
      {alerts.error && <ErrorBox error={alerts.error} title="Could not read alerts" />}
      {alerts.loading && !alerts.data && <Loading what="alerts" />}
      {alerts.data && !items.length && <p class="muted">No alert has been raised for this model.</p>}
      {firing.length > 0 && (
        <ul class="alert-list">
          {firing.map((a) => (
            <AlertItem key={a.fingerprint} alert={a} retired={retired} />
          ))}
        </ul>
      )}
      {resolved.length > 0 && (
        <details class="resolved-alerts" open={!firing.length}>
          <summary>
            {resolved.length} resolved alert{resolved.length === 1 ? '' : 's'}
          </summary>
          <ul class="alert-list">
            {resolved.slice(0, RESOLVED_SHOWN).map((a) => (
              <AlertItem key={a.fingerprint} alert={a} retired={retired} />
            ))}
          </ul>
          {resolved.length > RESOLVED_SHOWN && <p class="muted">and {resolved.length - RESOLVED_SHOWN} older ones.</p>}
        </details>
      )}
    </section>
  );
}

function AlertItem({ alert, retired }: { alert: Alert; retired: boolean }) {
  const severity = SEVERITY[alert.severity];
  const action = alert.details.action;
  return (
    <li class={`alert-item ${alert.state}`}>
      <div class="alert-head">
        <StatusBadge status={alert.state} /> <span class={`badge ${severity.cls}`}>{severity.label}</span> <strong>{KIND[alert.kind]}</strong>
        <span class="muted">
          {' '}
          since {fmt.time(alert.details.since)} ({fmt.ago(alert.details.since)}){alert.endsAt ? `, resolved ${fmt.time(alert.endsAt)}` : ''}
        </span>
      </div>
      <p class="alert-summary">{alert.summary}</p>
      {alert.state === 'firing' && retired && (
        <p class="alert-action">
          <strong>Already handled:</strong> the model is retired; the alert resolves at the next evaluation.
        </p>
      )}
      {alert.state === 'firing' && !retired && (
        <p class="alert-action">
          <strong>What to do:</strong> {action.text}
          {action.cli && (
            <>
              {' '}
              <span class="muted">CLI:</span> <code>{action.cli}</code>
            </>
          )}
        </p>
      )}
      <p class="muted alert-routing">{alert.details.routing}</p>
    </li>
  );
}
