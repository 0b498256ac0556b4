import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firingNotification, resolvedNotification, startReceiver } from '../testKit.js';
import { NotifierConfigSchema, NotifierError, type SlackNotifierConfig } from './notifier.js';
import { type SlackBlock, type SlackMessage, formatDuration, slackMessage, slackNotifier } from './slackNotifier.js';

const slackConfig = (url: string) => NotifierConfigSchema.parse({ kind: 'slack', url }) as SlackNotifierConfig;
const textOf = (blocks: SlackBlock[]) =>
  blocks
    .flatMap((b) => ('text' in b && b.text ? [b.text.text] : []).concat('fields' in b && b.fields ? b.fields.map((f) => f.text) : []).concat('elements' in b ? b.elements.map((e) => e.text) : []))
    .join('\n');

test('a firing message carries the facts on-call needs and what to do, one message per notification', async (t) => {
  const receiver = await startReceiver();
  t.after(receiver.close);
  const notifier = slackNotifier(slackConfig(`${receiver.origin}/services/T000/B000/XXXX`));
  const experiment = firingNotification('experiment', new Date('2024-07-01T12:00:00Z'));
  const baseline = firingNotification('baseline', new Date('2024-07-01T12:00:00Z'));
  await notifier.send([experiment, baseline]);
  assert.equal(receiver.requests.length, 2);
  assert.equal(receiver.requests[0]?.url, '/services/T000/B000/XXXX');

  const message = receiver.requests[0]?.body as SlackMessage;
  assert.match(message.text, /^PAGE: ig_stories_tray_mtml:v42 \(TIER1 experiment\) is unstable: PLIKE calibration 1\.31 outside \[0\.9, 1\.1\]\. What to do: end the experiment/);
  const [header, summary, facts] = message.blocks;
  assert.deepEqual(header, { type: 'header', text: { type: 'plain_text', text: ':rotating_light: PAGE: model unstable: ig_stories_tray_mtml:v42', emoji: true } });
  assert.match(summary && 'text' in summary ? (summary.text?.text ?? '') : '', /Ranks the stories in the main tray/);
  assert.ok(facts && facts.type === 'section' && facts.fields);
  assert.deepEqual(
    facts.fields.map((f) => f.text),
    [
      '*Model*\nig_stories_tray_mtml:v42',
      '*Tier*\nTIER1',
      '*Owner*\nteam stories-ranking',
      '*On-call*\nstories-oncall (24x7)',
      '*Role*\nexperiment, 5% of traffic',
      '*Task*\nPLIKE',
      '*Metric*\ncalibration',
      '*Value*\n1.31',
      '*Band*\n[0.9, 1.1]',
      '*Since*\n2024-07-01T12:00:00.000Z',
    ],
  );
  const all = textOf(message.blocks);
  assert.match(all, /\*What to do:\* end the experiment: its traffic \(5%\) goes back to the baseline ig_stories_tray_mtml:v41/);
  assert.match(all, /`POST https:\/\/modelfleet\.example\.com\/api\/v1\/models\/ig_stories_tray_mtml%3Av42\/end-experiment` or `modelfleet models end-experiment ig_stories_tray_mtml:v42`/);
  assert.match(all, /<https:\/\/modelfleet\.example\.com\/models\/ig_stories_tray_mtml%3Av42\|model> · <[^|]+\/stability\|stability> · <[^|]+\/history\|history>/);
  assert.match(all, /TIER1 pages at any hour/);

  const baselineText = textOf((receiver.requests[1]?.body as SlackMessage).blocks);
  assert.match(baselineText, /\*What to do:\* page the owner: stories-oncall \(24x7\) and team stories-ranking; do not turn it off/);
  assert.doesNotMatch(baselineText, /end-experiment/);
});

test('a resolved message is one short line with links', () => {
  const firing = firingNotification('experiment', new Date('2024-07-01T12:00:00Z'));
  const message = slackMessage(resolvedNotification(firing, new Date('2024-07-01T13:25:00Z')));
  assert.equal(message.text, 'RESOLVED model unstable: ig_stories_tray_mtml:v42 after 1h 25m');
  assert.equal(message.blocks.length, 2);
  assert.match(textOf(message.blocks), /^:white_check_mark: \*RESOLVED model unstable: ig_stories_tray_mtml:v42 after 1h 25m\*\n<https:/);
});

test('an escalation says so, and text Slack treats as markup is escaped', () => {
  const firing = firingNotification('experiment', new Date('2024-07-01T12:00:00Z'));
  const alert = { ...firing.alert, details: { ...firing.alert.details, businessFunction: 'Ranks <stories> & reels' } };
  const message = slackMessage({ alert, transition: 'escalated' });
  assert.match(message.text, /^ESCALATED to PAGE: /);
  assert.match(textOf(message.blocks), /Ranks &lt;stories&gt; &amp; reels/);
});

test('durations read as days, hours and minutes', () => {
  assert.equal(formatDuration('2024-07-01T00:00:00Z', '2024-07-01T00:00:20Z'), 'less than a minute');
  assert.equal(formatDuration('2024-07-01T00:00:00Z', '2024-07-03T05:07:00Z'), '2d 5h 7m');
  assert.equal(formatDuration('2024-07-01T00:00:00Z', null), 'an unknown time');
});

test('a Slack refusal names the notifier and status, never the webhook URL', async (t) => {
  const receiver = await startReceiver(() => ({ status: 404, body: 'no_service' }));
  t.after(receiver.close);
  const notifier = slackNotifier(slackConfig(`${receiver.origin}/services/T000/B000/XXXX`));
  await assert.rejects(notifier.send([firingNotification('experiment', new Date('2024-07-01T12:00:00Z'))]), (error: unknown) => {
    assert.ok(error instanceof NotifierError);
    assert.equal(error.status, 404);
    assert.match(error.message, /^notifier 'slack' got HTTP 404 from http:\/\/127\.0\.0\.1:\d+\/…: no_service$/);
    assert.doesNotMatch(error.message, /services|XXXX/);
    return true;
  });
});
