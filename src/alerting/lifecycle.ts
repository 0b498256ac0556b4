import { type Alert, type DesiredAlert, type Severity, mostSevere, severityRank } from './alert.js';

/** Why receivers hear about an alert: it started, it got more severe, or it is over. */
export const Transition = ['firing', 'escalated', 'resolved'] as const;
export type Transition = (typeof Transition)[number];

/** One alert to deliver, with the change that warrants it. */
export interface Notification {
  alert: Alert;
  transition: Transition;
}

export interface Reconciliation {
  /** Alerts whose stored row changed: upsert them by fingerprint. */
  alerts: Alert[];
  /** What to deliver; after every notifier accepted one, store {@link markNotified} of its alert. */
  notifications: Notification[];
}

/**
 * Moves stored alerts toward what the latest evaluation wants firing, and says whom to tell.
 *
 * - A desired alert with no firing row starts firing (startsAt = its `since`, else now).
 * - One already firing is refreshed (details, labels, severity) and keeps its startsAt; it is
 *   announced again only if it became more severe than receivers last heard ("escalated").
 * - A firing alert no longer desired resolves (endsAt = now).
 *
 * Notifications follow from what receivers last accepted (`lastNotifiedState`/`Severity`), not from
 * this call alone, so a delivery that failed is retried on the next reconciliation, and a restart
 * neither repeats delivered notifications nor forgets undelivered ones.
 *
 * @param current stored alerts: every firing one and the recently resolved ones
 * @param desired what should be firing now; several for one fingerprint merge into the most severe
 */
export function reconcileAlerts(current: readonly Alert[], desired: readonly DesiredAlert[], now: Date): Reconciliation {
  const at = now.toISOString();
  const stored = new Map<string, Alert>();
  for (const alert of current) {
    const seen = stored.get(alert.fingerprint);
    // One row per fingerprint is the store's contract; if a stale copy slips in, the firing one wins.
    if (!seen || (seen.state === 'resolved' && alert.state === 'firing')) stored.set(alert.fingerprint, alert);
  }
  const wanted = new Map<string, DesiredAlert>();
  for (const alert of desired) {
    const seen = wanted.get(alert.fingerprint);
    if (!seen || severityRank(alert.severity) < severityRank(seen.severity)) wanted.set(alert.fingerprint, alert);
  }

  const alerts: Alert[] = [];
  for (const [fingerprint, want] of wanted) {
    const before = stored.get(fingerprint);
    // A resolve receivers never heard about is undone quietly: to them the incident never ended.
    const continuing = before && (before.state === 'firing' || before.lastNotifiedState === 'firing');
    const { since, ...fields } = want;
    const startsAt = continuing ? before.startsAt : (since ?? at);
    alerts.push({
      ...fields,
      details: { ...fields.details, since: startsAt },
      state: 'firing',
      startsAt,
      endsAt: null,
      updatedAt: at,
      lastNotifiedState: continuing ? before.lastNotifiedState : null,
      lastNotifiedSeverity: continuing ? before.lastNotifiedSeverity : null,
      lastNotifiedAt: continuing ? before.lastNotifiedAt : null,
    });
  }
  for (const [fingerprint, before] of stored) {
    if (wanted.has(fingerprint)) continue;
    if (before.state === 'firing') alerts.push({ ...before, state: 'resolved', endsAt: at, updatedAt: at });
    else if (before.lastNotifiedState !== 'resolved') alerts.push(before); // still owed a resolved notification
  }

  const notifications = alerts.flatMap((alert): Notification[] => {
    const transition = pendingTransition(alert);
    return transition ? [{ alert, transition }] : [];
  });
  return { alerts: alerts.filter((a) => a !== stored.get(a.fingerprint)), notifications };
}

/** What receivers still need to hear about an alert, given what they last accepted; null if nothing. */
export function pendingTransition(alert: Alert): Transition | null {
  if (alert.state === 'resolved') return alert.lastNotifiedState === 'resolved' ? null : 'resolved';
  if (alert.lastNotifiedState !== 'firing') return 'firing';
  if (alert.lastNotifiedSeverity && severityRank(alert.severity) < severityRank(alert.lastNotifiedSeverity)) return 'escalated';
  return null;
}

/** The alert as stored once every notifier accepted the notification of it. */
export function markNotified(alert: Alert, now: Date): Alert {
  return { ...alert, lastNotifiedState: alert.state, lastNotifiedSeverity: alert.severity, lastNotifiedAt: now.toISOString() };
}

/**
 * Firing alerts to send again because a receiver forgets alerts that are not re-sent (Alertmanager
 * lets an alert lapse at its endsAt): those receivers last heard of more than `everyMs` ago. Send
 * them only to notifiers with `resendsFiring`, then store {@link markNotified}.
 */
export function alertsToRepeat(alerts: readonly Alert[], now: Date, everyMs: number): Notification[] {
  const due = now.getTime() - everyMs;
  return alerts
    .filter((a) => a.state === 'firing' && a.lastNotifiedState === 'firing' && (a.lastNotifiedAt === null || Date.parse(a.lastNotifiedAt) <= due))
    .map((alert) => ({ alert, transition: 'firing' as const }));
}

/**
 * The severity a notifier's `minSeverity` filter judges a notification by. A resolved alert counts
 * at the loudest severity receivers heard, so whoever was paged also hears that it is over, even if
 * the alert had calmed to a ticket before resolving.
 */
export function notificationSeverity(notification: Notification): Severity {
  const { alert } = notification;
  return alert.lastNotifiedSeverity ? mostSevere(alert.severity, alert.lastNotifiedSeverity) : alert.severity;
}
