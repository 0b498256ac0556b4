import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusinessHoursSchema, DEFAULT_BUSINESS_HOURS, isBusinessHours, localTime, routeFor, severityFor } from './routing.js';

const utc = DEFAULT_BUSINESS_HOURS;
const berlin = BusinessHoursSchema.parse({ timezone: 'Europe/Berlin' });
const tokyo = BusinessHoursSchema.parse({ timezone: 'Asia/Tokyo' });

const sundayNight = new Date('2024-07-07T03:00:00Z');

test('TIER0 and TIER1 page at any hour, even on a Sunday night', () => {
  for (const tier of ['TIER0', 'TIER1'] as const) {
    const route = routeFor(tier, sundayNight, utc);
    assert.equal(route.severity, 'page');
    assert.equal(route.deliverNow, true);
    assert.match(route.reason, /pages at any hour \(24x7\)/);
  }
});

test('TIER3 opens a ticket and TIER4 is a heads-up, whatever the hour', () => {
  const mondayMorning = new Date('2024-07-01T10:00:00Z');
  for (const at of [sundayNight, mondayMorning]) {
    assert.equal(routeFor('TIER3', at, utc).severity, 'ticket');
    assert.equal(routeFor('TIER4', at, utc).severity, 'heads_up');
  }
  assert.match(routeFor('TIER3', mondayMorning, utc).reason, /TIER3 never pages: a ticket instead/);
  assert.match(routeFor('TIER4', mondayMorning, utc).reason, /heads-up only/);
});

test('TIER2 pages within business hours in the configured zone, not in UTC', () => {
  // Monday 07:30 UTC is 09:30 in Berlin (CEST, UTC+2): business hours there, not yet in UTC.
  const early = new Date('2024-07-01T07:30:00Z');
  assert.equal(routeFor('TIER2', early, berlin).severity, 'page');
  assert.match(routeFor('TIER2', early, berlin).reason, /within business hours \(mon,tue,wed,thu,fri 09:00-17:00 Europe\/Berlin\); it is Mon 09:30 Europe\/Berlin/);
  assert.equal(routeFor('TIER2', early, utc).severity, 'ticket');

  // Monday 16:30 UTC is 18:30 in Berlin: after hours there, still business hours in UTC.
  const late = new Date('2024-07-01T16:30:00Z');
  const route = routeFor('TIER2', late, berlin);
  assert.deepEqual([route.severity, route.deliverNow], ['ticket', true]);
  assert.match(route.reason, /pages only within business hours .* it is Mon 18:30 Europe\/Berlin, so a ticket now, and a page if it still fires/);
  assert.equal(routeFor('TIER2', late, utc).severity, 'page');
});

test('business hours follow daylight saving time', () => {
  // In January Berlin is UTC+1: 08:30 UTC is 09:30 local.
  assert.equal(routeFor('TIER2', new Date('2024-01-08T08:30:00Z'), berlin).severity, 'page');
  assert.equal(routeFor('TIER2', new Date('2024-01-08T16:30:00Z'), berlin).severity, 'ticket');
});

test('the weekday is the local one: Sunday in UTC can be Monday in Tokyo', () => {
  // Sunday 2024-06-30 23:30 UTC is Monday 08:30 in Tokyo: not yet; 00:30 UTC is Monday 09:30 there.
  assert.deepEqual(localTime(new Date('2024-06-30T23:30:00Z'), 'Asia/Tokyo'), { day: 'mon', minute: 8 * 60 + 30, text: 'Mon 08:30 Asia/Tokyo' });
  assert.equal(routeFor('TIER2', new Date('2024-06-30T23:30:00Z'), tokyo).severity, 'ticket');
  assert.equal(routeFor('TIER2', new Date('2024-07-01T00:30:00Z'), tokyo).severity, 'page');
  // Friday 17:30 in Tokyo is over; Saturday 10:00 there is the weekend.
  assert.equal(routeFor('TIER2', new Date('2024-07-05T08:30:00Z'), tokyo).severity, 'ticket');
  assert.equal(routeFor('TIER2', new Date('2024-07-06T01:00:00Z'), tokyo).severity, 'ticket');
});

test('start is inclusive, end exclusive, midnight is 00:00', () => {
  assert.equal(isBusinessHours(new Date('2024-07-01T09:00:00Z'), utc), true);
  assert.equal(isBusinessHours(new Date('2024-07-01T16:59:59Z'), utc), true);
  assert.equal(isBusinessHours(new Date('2024-07-01T17:00:00Z'), utc), false);
  assert.equal(localTime(new Date('2024-07-01T00:05:00Z'), 'UTC').minute, 5);
  const allWeek = BusinessHoursSchema.parse({ days: ['sat', 'sun'], start: '00:00', end: '24:00' });
  assert.equal(isBusinessHours(new Date('2024-07-06T23:59:00Z'), allWeek), true);
  assert.equal(isBusinessHours(new Date('2024-07-05T12:00:00Z'), allWeek), false);
});

test('budget-burn severities are capped by tier and business hours', () => {
  const night = new Date('2024-07-02T02:00:00Z');
  const day = new Date('2024-07-02T11:00:00Z');
  assert.equal(severityFor('TIER0', 'page', night, utc).severity, 'page');
  assert.equal(severityFor('TIER0', 'ticket', night, utc).severity, 'ticket');
  assert.match(severityFor('TIER0', 'ticket', night, utc).reason, /a ticket, as the rule asks/);
  assert.equal(severityFor('TIER2', 'page', day, utc).severity, 'page');
  assert.equal(severityFor('TIER2', 'page', night, utc).severity, 'ticket');
  assert.equal(severityFor('TIER2', 'ticket', day, utc).severity, 'ticket');
  assert.equal(severityFor('TIER3', 'page', day, utc).severity, 'ticket');
  assert.equal(severityFor('TIER4', 'page', day, utc).severity, 'heads_up');
  assert.equal(severityFor('TIER4', 'ticket', day, utc).severity, 'heads_up');
  assert.equal(severityFor('TIER1', 'heads_up', day, utc).severity, 'heads_up');
});

test('business hours default to Monday to Friday 09:00-17:00 UTC', () => {
  assert.deepEqual(BusinessHoursSchema.parse({}), { timezone: 'UTC', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' });
});

test('a bad time zone, time or span is rejected with a message that says how to fix it', () => {
  const zone = BusinessHoursSchema.safeParse({ timezone: 'Europe/Berln' });
  assert.equal(zone.success, false);
  assert.deepEqual(zone.error?.issues.map((i) => [i.path.join('.'), i.message]), [
    ['timezone', "unknown time zone 'Europe/Berln': use an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC'"],
  ]);
  const clock = BusinessHoursSchema.safeParse({ start: '9:00' });
  assert.match(clock.error?.issues[0]?.message ?? '', /start is a 24-hour local time HH:MM/);
  const span = BusinessHoursSchema.safeParse({ start: '22:00', end: '06:00' });
  assert.deepEqual(span.error?.issues.map((i) => [i.path.join('.'), i.message]), [['end', 'end (06:00) must be after start (22:00); business hours do not cross midnight']]);
  assert.equal(BusinessHoursSchema.safeParse({ days: [] }).success, false);
  assert.equal(BusinessHoursSchema.safeParse({ days: ['monday'] }).success, false);
});
