import assert from 'node:assert/strict';
import { type Socket, createServer } from 'node:net';
import { test } from 'node:test';
import { markNotified, reconcileAlerts } from '../lifecycle.js';
import { firingNotification, resolvedNotification, startReceiver } from '../testKit.js';
import { createNotifiers } from './createNotifiers.js';
import { NotifierConfigSchema, NotifierError, NotifiersConfigSchema, selectBySeverity } from './notifier.js';
import { postJson, redactUrl } from './postJson.js';

test('notifier configs default their timeout and headers, and tell the kinds apart', () => {
  assert.deepEqual(NotifierConfigSchema.parse({ kind: 'webhook', url: 'https://hooks.example.com/modelfleet' }), {
    kind: 'webhook',
    url: 'https://hooks.example.com/modelfleet',
    headers: {},
    timeoutMs: 5000,
  });
  assert.deepEqual(NotifierConfigSchema.parse({ kind: 'alertmanager', url: 'http://alertmanager:9093', minSeverity: 'ticket' }), {
    kind: 'alertmanager',
    url: 'http://alertmanager:9093',
    headers: {},
    resendEveryMs: 60000,
    minSeverity: 'ticket',
    timeoutMs: 5000,
  });
  assert.equal(NotifierConfigSchema.safeParse({ kind: 'slack', url: 'https://hooks.slack.com/services/T/B/x', headers: {} }).success, false, 'slack takes no headers');
  assert.equal(NotifierConfigSchema.safeParse({ kind: 'pagerduty', url: 'https://x.example.com' }).success, false);
});

test('a bad notifier config says what to fix', () => {
  const messages = (input: unknown) => NotifierConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.deepEqual(messages({ kind: 'webhook', url: 'ftp://x.example.com' }), ['url: must be an http:// or https:// URL']);
  assert.deepEqual(messages({ kind: 'webhook', url: 'https://user:secret@x.example.com/hook' }), [
    'url: must not carry user:password@; put credentials in headers (e.g. Authorization)',
  ]);
  assert.match(messages({ kind: 'slack', url: 'https://x.example.com', minSeverity: 'urgent' })?.[0] ?? '', /^minSeverity: /);
  const duplicate = NotifiersConfigSchema.safeParse([
    { kind: 'slack', url: 'https://hooks.slack.com/services/a' },
    { kind: 'slack', url: 'https://hooks.slack.com/services/b' },
  ]);
  assert.deepEqual(duplicate.error?.issues.map((i) => [i.path.join('.'), i.message]), [
    ['1.name', "notifier name 'slack' is already used by notifier 0: give each notifier of the same kind its own name"],
  ]);
});

test('createNotifiers builds one notifier per config, named by name or kind, URLs redacted', () => {
  const configs = NotifiersConfigSchema.parse([
    { kind: 'webhook', url: 'https://hooks.example.com/modelfleet?token=abc' },
    { kind: 'slack', name: 'slack-pages', url: 'https://hooks.slack.com/services/T000/B000/SECRET', minSeverity: 'page' },
    { kind: 'alertmanager', url: 'http://alertmanager:9093' },
  ]);
  const notifiers = createNotifiers(configs);
  assert.deepEqual(
    notifiers.map((n) => [n.name, n.target, n.resendFiringEveryMs]),
    [
      ['webhook', 'https://hooks.example.com/…', null],
      ['slack-pages', 'https://hooks.slack.com/…', null],
      ['alertmanager', 'http://alertmanager:9093', 60000],
    ],
  );
});

test('minSeverity keeps only alerts at least that severe; a resolve counts at the severity receivers heard', () => {
  const page = firingNotification('experiment', new Date('2024-07-01T12:00:00Z'));
  const ticket = firingNotification('experiment', new Date('2024-07-06T23:00:00Z'), { effectiveCriticality: 'TIER2' });
  assert.equal(ticket.alert.severity, 'ticket');
  assert.deepEqual(selectBySeverity([page, ticket], 'page'), [page]);
  assert.deepEqual(selectBySeverity([page, ticket], 'ticket'), [page, ticket]);
  assert.deepEqual(selectBySeverity([page, ticket], undefined), [page, ticket]);
  // Paged, calmed to a ticket, then resolved: the page-only receiver still hears it is over.
  const paged = markNotified(page.alert, new Date('2024-07-01T12:00:00Z'));
  const [resolved] = reconcileAlerts([{ ...paged, severity: 'ticket' }], [], new Date('2024-07-01T13:00:00Z')).notifications;
  assert.ok(resolved);
  assert.deepEqual(selectBySeverity([resolved], 'page'), [resolved]);
  assert.deepEqual(selectBySeverity([resolvedNotification(ticket, new Date('2024-07-07T01:00:00Z'))], 'page'), []);
});

test('a refusal names the notifier and status, and never the secret path, even if the receiver echoes it', async (t) => {
  const receiver = await startReceiver((request) => ({ status: 403, body: `invalid_token for ${request.url}` }));
  t.after(receiver.close);
  const url = `${receiver.origin}/services/T000/B000/XXXXSECRETXXXX?key=hunter2`;
  await assert.rejects(postJson({ notifier: 'slack-pages', url, timeoutMs: 2000 }, { text: 'hi' }), (error: unknown) => {
    assert.ok(error instanceof NotifierError);
    assert.equal(error.notifier, 'slack-pages');
    assert.equal(error.status, 403);
    assert.match(error.message, /^notifier 'slack-pages' got HTTP 403 from http:\/\/127\.0\.0\.1:\d+\/…: invalid_token for …$/);
    assert.doesNotMatch(error.message, /SECRET|hunter2|services/);
    return true;
  });
});

test('an unreachable receiver and a silent one fail with the notifier named and no status', async (t) => {
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  await assert.rejects(postJson({ notifier: 'webhook', url: `http://127.0.0.1:${port}/hook/secret`, timeoutMs: 2000 }, {}), (error: unknown) => {
    assert.ok(error instanceof NotifierError);
    assert.equal(error.status, null);
    assert.match(error.message, /^notifier 'webhook' could not deliver to http:\/\/127\.0\.0\.1:\d+\/…: .*ECONNREFUSED/);
    assert.doesNotMatch(error.message, /secret/);
    return true;
  });

  const sockets: Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket)); // accepts the connection and never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const silentPort = (silent.address() as { port: number }).port;
  await assert.rejects(postJson({ notifier: 'webhook', url: `http://127.0.0.1:${silentPort}/hook`, timeoutMs: 200 }, {}), /^NotifierError: notifier 'webhook' could not deliver to http:\/\/127\.0\.0\.1:\d+\/…: no answer within 200 ms$/);
});

test('a redirect is a failure, not a resend somewhere else', async (t) => {
  const receiver = await startReceiver(() => ({ status: 302, body: '' }));
  t.after(receiver.close);
  await assert.rejects(postJson({ notifier: 'webhook', url: `${receiver.origin}/hook`, timeoutMs: 2000 }, {}), /got HTTP 302/);
});

test('redactUrl keeps scheme, host and port only', () => {
  assert.equal(redactUrl('https://hooks.slack.com/services/T/B/secret'), 'https://hooks.slack.com/…');
  assert.equal(redactUrl('http://alertmanager:9093'), 'http://alertmanager:9093');
  assert.equal(redactUrl('http://alertmanager:9093/'), 'http://alertmanager:9093');
  assert.equal(redactUrl('https://x.example.com?token=1'), 'https://x.example.com/…');
  assert.equal(redactUrl('not a url'), '(an invalid URL)');
});
