import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Alert, AlertSchema, type DesiredAlert } from './alert.js';
import { modelUnstableAlert } from './desiredAlerts.js';
import { type Reconciliation, alertsToRepeat, markNotified, notificationSeverity, reconcileAlerts } from './lifecycle.js';
import { evaluationOf, settings, storiesModel, storiesType } from './testKit.js';

const t0 = new Date('2024-07-01T10:00:00Z');
const minutes = (n: number) => new Date(t0.getTime() + n * 60_000);

const desiredAt = (at: Date, severity: DesiredAlert['severity'] = 'page'): DesiredAlert => {
  const alert = modelUnstableAlert(evaluationOf(storiesModel('experiment'), at), storiesModel('experiment'), storiesType, settings);
  assert.ok(alert);
  return { ...alert, severity, labels: { ...alert.labels, severity } };
};

/** What the evaluation loop does after a delivery every notifier accepted: store the alerts as notified. */
const delivered = (result: Reconciliation, at: Date): Alert[] => {
  const notified = new Set(result.notifications.map((n) => n.alert.fingerprint));
  return result.alerts.map((a) => (notified.has(a.fingerprint) ? markNotified(a, at) : a));
};

/** The store: one row per fingerprint, written through JSON as a database would, so state survives a restart. */
const store = (rows: Alert[], upserts: Alert[]): Alert[] => {
  const byFingerprint = new Map(rows.map((a) => [a.fingerprint, a]));
  for (const a of upserts) byFingerprint.set(a.fingerprint, AlertSchema.parse(JSON.parse(JSON.stringify(a))));
  return [...byFingerprint.values()];
};

test('a new unstable model fires once, starting when the evaluation saw it', () => {
  const result = reconcileAlerts([], [desiredAt(t0)], t0);
  assert.equal(result.alerts.length, 1);
  const [alert] = result.alerts;
  assert.equal(alert?.state, 'firing');
  assert.equal(alert?.startsAt, t0.toISOString());
  assert.equal(alert?.endsAt, null);
  assert.equal(alert?.lastNotifiedState, null);
  assert.deepEqual(result.notifications.map((n) => n.transition), ['firing']);
  assert.equal(AlertSchema.safeParse(alert).success, true);
});

test("a new alert starts at the desired alert's since, when the evaluator knows it", () => {
  const since = minutes(-30).toISOString();
  const [alert] = reconcileAlerts([], [{ ...desiredAt(t0), since }], t0).alerts;
  assert.equal(alert?.startsAt, since);
  assert.equal(alert?.details.since, since);
});

test('an alert still firing is refreshed but not announced again, and keeps its start', () => {
  const first = reconcileAlerts([], [desiredAt(t0)], t0);
  let rows = store([], delivered(first, t0));
  const again = reconcileAlerts(rows, [{ ...desiredAt(minutes(5)), summary: 'refreshed summary' }], minutes(5));
  assert.deepEqual(again.notifications, []);
  assert.equal(again.alerts.length, 1);
  assert.equal(again.alerts[0]?.startsAt, t0.toISOString());
  assert.equal(again.alerts[0]?.details.since, t0.toISOString());
  assert.equal(again.alerts[0]?.updatedAt, minutes(5).toISOString());
  assert.equal(again.alerts[0]?.summary, 'refreshed summary');
  assert.equal(again.alerts[0]?.lastNotifiedState, 'firing');
  rows = store(rows, again.alerts);
  assert.equal(rows.length, 1);
});

test('a notification that was not delivered is sent again on the next reconciliation', () => {
  const first = reconcileAlerts([], [desiredAt(t0)], t0);
  const rows = store([], first.alerts); // the notifier failed: nothing marked as notified
  const again = reconcileAlerts(rows, [desiredAt(minutes(1))], minutes(1));
  assert.deepEqual(again.notifications.map((n) => n.transition), ['firing']);
  assert.equal(again.alerts[0]?.startsAt, t0.toISOString());
});

test('a rise in severity escalates; a fall is quiet; rising back to what was already sent is quiet', () => {
  let rows = store([], delivered(reconcileAlerts([], [desiredAt(t0, 'ticket')], t0), t0));
  const up = reconcileAlerts(rows, [desiredAt(minutes(1), 'page')], minutes(1));
  assert.deepEqual(up.notifications.map((n) => [n.transition, n.alert.severity]), [['escalated', 'page']]);
  rows = store(rows, delivered(up, minutes(1)));

  const down = reconcileAlerts(rows, [desiredAt(minutes(2), 'ticket')], minutes(2));
  assert.deepEqual(down.notifications, []);
  assert.equal(down.alerts[0]?.severity, 'ticket');
  rows = store(rows, delivered(down, minutes(2)));

  const upAgain = reconcileAlerts(rows, [desiredAt(minutes(3), 'page')], minutes(3));
  assert.deepEqual(upAgain.notifications, [], 'receivers were already paged for this alert');
  assert.equal(upAgain.alerts[0]?.startsAt, t0.toISOString());
});

test('an alert no longer desired resolves now and says so once', () => {
  let rows = store([], delivered(reconcileAlerts([], [desiredAt(t0)], t0), t0));
  const healthy = reconcileAlerts(rows, [], minutes(10));
  assert.deepEqual(healthy.notifications.map((n) => n.transition), ['resolved']);
  assert.equal(healthy.alerts[0]?.state, 'resolved');
  assert.equal(healthy.alerts[0]?.endsAt, minutes(10).toISOString());
  assert.equal(healthy.alerts[0]?.startsAt, t0.toISOString());
  rows = store(rows, delivered(healthy, minutes(10)));

  const later = reconcileAlerts(rows, [], minutes(11));
  assert.deepEqual(later, { alerts: [], notifications: [] });
});

test('a resolve that was not delivered is retried without rewriting the row', () => {
  let rows = store([], delivered(reconcileAlerts([], [desiredAt(t0)], t0), t0));
  rows = store(rows, reconcileAlerts(rows, [], minutes(10)).alerts); // resolved, delivery failed
  const retry = reconcileAlerts(rows, [], minutes(11));
  assert.deepEqual(retry.alerts, []);
  assert.deepEqual(retry.notifications.map((n) => [n.transition, n.alert.endsAt]), [['resolved', minutes(10).toISOString()]]);
});

test('a condition that returns after a delivered resolve re-fires the same fingerprint as a new incident', () => {
  let rows = store([], delivered(reconcileAlerts([], [desiredAt(t0)], t0), t0));
  rows = store(rows, delivered(reconcileAlerts(rows, [], minutes(10)), minutes(10)));
  const back = reconcileAlerts(rows, [desiredAt(minutes(20))], minutes(20));
  assert.deepEqual(back.notifications.map((n) => n.transition), ['firing']);
  assert.equal(back.alerts[0]?.fingerprint, rows[0]?.fingerprint);
  assert.equal(back.alerts[0]?.startsAt, minutes(20).toISOString());
  assert.equal(back.alerts[0]?.endsAt, null);
  assert.equal(back.alerts[0]?.lastNotifiedState, null);
});

test('a condition that returns before its resolve was delivered just continues', () => {
  let rows = store([], delivered(reconcileAlerts([], [desiredAt(t0)], t0), t0));
  rows = store(rows, reconcileAlerts(rows, [], minutes(10)).alerts); // resolved, delivery failed
  const back = reconcileAlerts(rows, [desiredAt(minutes(11))], minutes(11));
  assert.deepEqual(back.notifications, []);
  assert.equal(back.alerts[0]?.state, 'firing');
  assert.equal(back.alerts[0]?.startsAt, t0.toISOString());
});

test('duplicate desired alerts merge into the most severe', () => {
  const result = reconcileAlerts([], [desiredAt(t0, 'ticket'), desiredAt(t0, 'page'), desiredAt(t0, 'heads_up')], t0);
  assert.equal(result.alerts.length, 1);
  assert.equal(result.alerts[0]?.severity, 'page');
});

test('alerts are re-sent to forgetful receivers only once the interval has passed', () => {
  const rows = store([], delivered(reconcileAlerts([], [desiredAt(t0)], t0), t0));
  assert.deepEqual(alertsToRepeat(rows, minutes(0.5), 60_000), []);
  assert.deepEqual(alertsToRepeat(rows, minutes(1), 60_000).map((n) => n.transition), ['firing']);
  const resolved = store(rows, delivered(reconcileAlerts(rows, [], minutes(2)), minutes(2)));
  assert.deepEqual(alertsToRepeat(resolved, minutes(10), 60_000), []);
  const undelivered = store([], reconcileAlerts([], [desiredAt(t0)], t0).alerts);
  assert.deepEqual(alertsToRepeat(undelivered, minutes(10), 60_000), [], 'a first delivery is the reconciliation’s job');
});

test('whoever was paged also hears the resolve, even if the alert calmed to a ticket first', () => {
  let rows = store([], delivered(reconcileAlerts([], [desiredAt(t0, 'page')], t0), t0));
  rows = store(rows, delivered(reconcileAlerts(rows, [desiredAt(minutes(1), 'ticket')], minutes(1)), minutes(1)));
  const [resolved] = reconcileAlerts(rows, [], minutes(2)).notifications;
  assert.ok(resolved);
  assert.equal(resolved.alert.severity, 'ticket');
  assert.equal(notificationSeverity(resolved), 'page');
});
