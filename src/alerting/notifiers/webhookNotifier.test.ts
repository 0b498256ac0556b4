import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlertSchema } from '../alert.js';
import { firingNotification, resolvedNotification, startReceiver } from '../testKit.js';
import { NotifierConfigSchema, NotifierError, type WebhookNotifierConfig } from './notifier.js';
import { type WebhookPayload, webhookNotifier } from './webhookNotifier.js';

const webhookConfig = (input: Record<string, unknown>) => NotifierConfigSchema.parse({ kind: 'webhook', ...input }) as WebhookNotifierConfig;

test('the webhook receives one JSON document per batch, with the whole alert and its transition', async (t) => {
  const receiver = await startReceiver();
  t.after(receiver.close);
  const notifier = webhookNotifier(webhookConfig({ url: `${receiver.origin}/hooks/modelfleet`, headers: { Authorization: 'Bearer s3cret' } }));
  const firing = firingNotification('experiment', new Date('2024-07-01T12:00:00Z'));
  const resolved = resolvedNotification(firingNotification('baseline', new Date('2024-07-01T11:00:00Z')), new Date('2024-07-01T12:00:00Z'));
  await notifier.send([firing, resolved]);

  assert.equal(receiver.requests.length, 1);
  const [request] = receiver.requests;
  assert.equal(request?.method, 'POST');
  assert.equal(request?.url, '/hooks/modelfleet');
  assert.equal(request?.headers['content-type'], 'application/json');
  assert.equal(request?.headers.authorization, 'Bearer s3cret');
  const body = request?.body as WebhookPayload;
  assert.equal(body.version, 1);
  assert.deepEqual(body.notifications.map((n) => [n.transition, n.alert.modelId, n.alert.state]), [
    ['firing', 'ig_stories_tray_mtml:v42', 'firing'],
    ['resolved', 'ig_stories_tray_mtml:v41', 'resolved'],
  ]);
  for (const n of body.notifications) assert.equal(AlertSchema.safeParse(n.alert).success, true, 'receivers get a valid stored alert');
  assert.equal(body.notifications[0]?.alert.details.action.cli, 'modelfleet models end-experiment ig_stories_tray_mtml:v42');
});

test('nothing is posted when minSeverity filters the whole batch out', async (t) => {
  const receiver = await startReceiver();
  t.after(receiver.close);
  const notifier = webhookNotifier(webhookConfig({ url: `${receiver.origin}/hook`, minSeverity: 'page' }));
  await notifier.send([firingNotification('experiment', new Date('2024-07-01T12:00:00Z'), { effectiveCriticality: 'TIER3' })]);
  await notifier.send([]);
  assert.equal(receiver.requests.length, 0);
});

test('a receiver error rejects with the notifier name and status', async (t) => {
  const receiver = await startReceiver(() => ({ status: 500, body: 'database is down' }));
  t.after(receiver.close);
  const notifier = webhookNotifier(webhookConfig({ name: 'incident-bot', url: `${receiver.origin}/hook?token=abc` }));
  await assert.rejects(notifier.send([firingNotification('experiment', new Date('2024-07-01T12:00:00Z'))]), (error: unknown) => {
    assert.ok(error instanceof NotifierError);
    assert.deepEqual([error.notifier, error.status], ['incident-bot', 500]);
    assert.match(error.message, /^notifier 'incident-bot' got HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/…: database is down$/);
    return true;
  });
});
