import { z } from 'zod';
import type { Criticality } from '../registry/vocabulary.js';
import { type Severity, mostSevere } from './alert.js';

export const Weekday = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof Weekday)[number];

const clock = (what: string) =>
  z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, `${what} is a 24-hour local time HH:MM, e.g. '09:00' (or '24:00' for midnight at the end of the day)`);

/** True when the runtime knows the IANA time zone name. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * When the people who take TIER2 pages are at work. Start is inclusive and end exclusive, both in
 * the zone's local time; a span never crosses midnight (use two days instead).
 */
export const BusinessHoursSchema = z
  .object({
    timezone: z
      .string()
      .default('UTC')
      .superRefine((name, ctx) => {
        if (!isTimeZone(name)) {
          ctx.addIssue({ code: 'custom', message: `unknown time zone '${name}': use an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC'` });
        }
      }),
    days: z
      .array(z.enum(Weekday))
      .min(1, 'name at least one business day, e.g. ["mon", "tue", "wed", "thu", "fri"]')
      .default(['mon', 'tue', 'wed', 'thu', 'fri']),
    start: clock('start').default('09:00'),
    end: clock('end').default('17:00'),
  })
  .strict()
  .superRefine((hours, ctx) => {
    if (minutesOf(hours.start) >= minutesOf(hours.end)) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: `end (${hours.end}) must be after start (${hours.start}); business hours do not cross midnight` });
    }
  });
export type BusinessHours = z.output<typeof BusinessHoursSchema>;

/** Monday to Friday, 09:00 to 17:00 UTC. */
export const DEFAULT_BUSINESS_HOURS: BusinessHours = BusinessHoursSchema.parse({});

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

// Building a formatter is far slower than using one, and an evaluation routes every unstable model.
const formatters = new Map<string, Intl.DateTimeFormat>();
const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, formatter);
  }
  return formatter;
};

/** The weekday and minute of the day at an instant in a time zone. */
export function localTime(at: Date, timeZone: string): { day: Weekday; minute: number; text: string } {
  const parts = formatterFor(timeZone).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const day = part('weekday').toLowerCase() as Weekday;
  const hour = Number(part('hour')) % 24;
  const minute = Number(part('minute'));
  return { day, minute: hour * 60 + minute, text: `${part('weekday')} ${part('hour')}:${part('minute')} ${timeZone}` };
}

/** True when the instant falls within business hours. */
export function isBusinessHours(at: Date, hours: BusinessHours): boolean {
  const local = localTime(at, hours.timezone);
  return hours.days.includes(local.day) && local.minute >= minutesOf(hours.start) && local.minute < minutesOf(hours.end);
}

/** How an alert is delivered and why, in words on-call can read in the alert. */
export interface Route {
  severity: Severity;
  /**
   * Whether to notify at once. Every tier does today: a TIER2 problem outside business hours is filed
   * as a ticket straight away so it is waiting in the morning, and it pages if still firing then.
   */
  deliverNow: boolean;
  reason: string;
}

/** How loud each tier may get, and when it may page. */
const tierPolicy: Record<Criticality, { loudest: Severity; pages: 'always' | 'business_hours' | 'never' }> = {
  TIER0: { loudest: 'page', pages: 'always' },
  TIER1: { loudest: 'page', pages: 'always' },
  TIER2: { loudest: 'page', pages: 'business_hours' },
  TIER3: { loudest: 'ticket', pages: 'never' },
  TIER4: { loudest: 'heads_up', pages: 'never' },
};

/**
 * The severity an alert is delivered at: what was asked (a budget-burn rule asks for a page or a
 * ticket) capped by the model's tier. TIER0/TIER1 page at any hour; TIER2 pages only within
 * business hours and files a ticket outside them; TIER3 never pages; TIER4 is a heads-up only.
 */
export function severityFor(tier: Criticality, requested: Severity, at: Date, hours: BusinessHours): Route {
  const policy = tierPolicy[tier];
  const capped = mostSevere(requested, policy.loudest) === requested ? policy.loudest : requested;
  if (capped !== 'page') {
    const reason =
      capped === requested
        ? `${tier}: ${requested === 'ticket' ? 'a ticket' : 'a heads-up'}, as the rule asks`
        : tier === 'TIER4'
          ? `${tier} is heads-up only: it never pages or opens a ticket`
          : `${tier} never pages: a ticket instead`;
    return { severity: capped, deliverNow: true, reason };
  }
  if (policy.pages === 'always') return { severity: 'page', deliverNow: true, reason: `${tier} pages at any hour (24x7)` };
  const local = localTime(at, hours.timezone);
  const window = `${hours.days.join(',')} ${hours.start}-${hours.end} ${hours.timezone}`;
  if (isBusinessHours(at, hours)) {
    return { severity: 'page', deliverNow: true, reason: `${tier} pages within business hours (${window}); it is ${local.text}` };
  }
  return {
    severity: 'ticket',
    deliverNow: true,
    reason: `${tier} pages only within business hours (${window}); it is ${local.text}, so a ticket now, and a page if it still fires when business hours begin`,
  };
}

/** The route of a generic "model unstable" alert: as loud as the model's tier allows at that time. */
export const routeFor = (tier: Criticality, at: Date, hours: BusinessHours): Route => severityFor(tier, 'page', at, hours);
