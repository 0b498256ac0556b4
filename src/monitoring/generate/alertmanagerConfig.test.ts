import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { BusinessHoursSchema } from '../../alerting/routing.js';
import { BUSINESS_HOURS_INTERVAL, PLACEHOLDER_RECEIVER_URLS, alertmanagerConfig, alertmanagerConfigYaml, routeAlert } from './alertmanagerConfig.js';

const unstable = (tier: string, severity: string) => ({ alertname: 'ModelUnstable', tier, severity, role: 'baseline' });

test('routes by tier: TIER0/1 page, TIER2 pages in business hours and tickets outside, TIER3 tickets, TIER4 heads-up', () => {
  const config = alertmanagerConfig();
  assert.deepEqual(routeAlert(config, unstable('TIER0', 'page')).map((r) => r.receiver), ['page']);
  assert.deepEqual(routeAlert(config, unstable('TIER1', 'page')).map((r) => r.receiver), ['page']);
  assert.deepEqual(routeAlert(config, unstable('TIER2', 'page')), [
    { receiver: 'business-hours-page', activeIn: [BUSINESS_HOURS_INTERVAL], delivers: true },
    { receiver: 'ticket', mutedIn: [BUSINESS_HOURS_INTERVAL], delivers: true },
  ]);
  assert.deepEqual(routeAlert(config, unstable('TIER2', 'ticket')).map((r) => r.receiver), ['ticket']);
  assert.deepEqual(routeAlert(config, unstable('TIER3', 'ticket')).map((r) => r.receiver), ['ticket']);
  assert.deepEqual(routeAlert(config, unstable('TIER4', 'heads_up')).map((r) => r.receiver), ['heads-up']);
  assert.deepEqual(config.route.group_by, ['alertname', 'model_type', 'model']);
});

test("business hours become the time interval TIER2 pages within, in the configured zone", () => {
  const config = alertmanagerConfig({ businessHours: BusinessHoursSchema.parse({ timezone: 'Europe/Berlin', days: ['mon', 'sat'], start: '08:30', end: '18:00' }) });
  assert.deepEqual(config.time_intervals, [
    { name: 'business-hours', time_intervals: [{ weekdays: ['monday', 'saturday'], times: [{ start_time: '08:30', end_time: '18:00' }], location: 'Europe/Berlin' }] },
  ]);
});

test("a firing baseline's ModelUnstable inhibits the same alert for the type's experiments, shadows and candidates", () => {
  assert.deepEqual(alertmanagerConfig().inhibit_rules, [
    {
      source_matchers: ['alertname="ModelUnstable"', 'role="baseline"'],
      target_matchers: ['alertname="ModelUnstable"', 'role=~"experiment|shadow|candidate"'],
      equal: ['alertname', 'model_type'],
    },
  ]);
});

test('receivers take the configured webhook URLs, placeholders when unset, none when given an empty list', () => {
  const config = alertmanagerConfig({ receivers: { page: ['https://pager.example.com/hook', 'https://chat.example.com/hook'], ticket: [] } });
  const byName = Object.fromEntries(config.receivers.map((r) => [r.name, r.webhook_configs?.map((w) => w.url) ?? null]));
  assert.deepEqual(byName, {
    page: ['https://pager.example.com/hook', 'https://chat.example.com/hook'],
    'business-hours-page': [PLACEHOLDER_RECEIVER_URLS['business-hours-page']],
    ticket: null,
    'heads-up': [PLACEHOLDER_RECEIVER_URLS['heads-up']],
  });
  assert.deepEqual(routeAlert(config, unstable('TIER3', 'ticket')), [{ receiver: 'ticket', delivers: false }]);
  assert.deepEqual(parse(alertmanagerConfigYaml(config)), JSON.parse(JSON.stringify(config)));
});
