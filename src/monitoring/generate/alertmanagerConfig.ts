import { stringify } from 'yaml';
import { type BusinessHours, DEFAULT_BUSINESS_HOURS, type Weekday } from '../../alerting/routing.js';
import type { Criticality } from '../../registry/vocabulary.js';

/** The receivers alerts are routed to, loudest first. */
export const ReceiverName = ['page', 'business-hours-page', 'ticket', 'heads-up'] as const;
export type ReceiverName = (typeof ReceiverName)[number];

/**
 * Where each receiver delivers when nothing is configured: addresses under `.invalid`, which never
 * resolve, so an unconfigured receiver is obvious in Alertmanager's logs (docs/monitoring.md says what to
 * put there).
 */
export const PLACEHOLDER_RECEIVER_URLS: Record<ReceiverName, string> = {
  page: 'https://page.receiver.invalid/modelfleet',
  'business-hours-page': 'https://business-hours-page.receiver.invalid/modelfleet',
  ticket: 'https://ticket.receiver.invalid/modelfleet',
  'heads-up': 'https://heads-up.receiver.invalid/modelfleet',
};

/** The name of the time interval TIER2 pages within. */
export const BUSINESS_HOURS_INTERVAL = 'business-hours';

export interface AlertmanagerOptions {
  /**
   * Webhook URLs per receiver. Left out: the placeholder. An empty list: the receiver delivers nowhere,
   * which the coverage report lists as a routing gap for every tier routed to it.
   */
  receivers?: Partial<Record<ReceiverName, readonly string[]>>;
  businessHours?: BusinessHours;
}

export interface AlertmanagerRoute {
  receiver: string;
  matchers?: string[];
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  continue?: boolean;
  active_time_intervals?: string[];
  mute_time_intervals?: string[];
  routes?: AlertmanagerRoute[];
}

/** An Alertmanager configuration file, as an object. */
export interface AlertmanagerConfig {
  global: { resolve_timeout: string };
  route: AlertmanagerRoute;
  receivers: Array<{ name: ReceiverName; webhook_configs?: Array<{ url: string; send_resolved: boolean; max_alerts: number }> }>;
  time_intervals: Array<{ name: string; time_intervals: Array<{ weekdays: string[]; times: Array<{ start_time: string; end_time: string }>; location: string }> }>;
  inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal: string[] }>;
}

const WEEKDAY_NAMES: Record<Weekday, string> = { mon: 'monday', tue: 'tuesday', wed: 'wednesday', thu: 'thursday', fri: 'friday', sat: 'saturday', sun: 'sunday' };

/** The roles whose alerts a firing baseline alert of the same type silences: they are judged against that baseline. */
export const INHIBITED_ROLES = ['experiment', 'shadow', 'candidate'] as const;

/**
 * Alertmanager routing by tier, the policy of `alerting/routing.ts`: TIER0/TIER1 page at any hour;
 * TIER2 pages within business hours and files a ticket outside them (and pages once business hours
 * begin if still firing); TIER3 tickets; TIER4 is a heads-up. Alerts group per type and model, and a
 * baseline's ModelUnstable inhibits the same alert for the type's experiments, shadows and candidates:
 * when the baseline is off, everything compared with it is noise.
 */
export function alertmanagerConfig(options: AlertmanagerOptions = {}): AlertmanagerConfig {
  const hours = options.businessHours ?? DEFAULT_BUSINESS_HOURS;
  const urls = (name: ReceiverName): readonly string[] => options.receivers?.[name] ?? [PLACEHOLDER_RECEIVER_URLS[name]];
  // The tiers that page at any hour and those that page only within business hours (routing.ts).
  const alwaysPage: Criticality[] = ['TIER0', 'TIER1'];
  const businessHoursPage: Criticality[] = ['TIER2'];
  const tierMatcher = (tiers: readonly string[]) => (tiers.length === 1 ? `tier="${tiers[0]}"` : `tier=~"${tiers.join('|')}"`);
  return {
    global: { resolve_timeout: '5m' },
    route: {
      // Anything not matched below (an alert without a tier, say) becomes a ticket rather than vanishing.
      receiver: 'ticket',
      group_by: ['alertname', 'model_type', 'model'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: [
        { receiver: 'page', matchers: ['severity="page"', tierMatcher(alwaysPage)], repeat_interval: '1h' },
        { receiver: 'business-hours-page', matchers: ['severity="page"', tierMatcher(businessHoursPage)], active_time_intervals: [BUSINESS_HOURS_INTERVAL], continue: true },
        { receiver: 'ticket', matchers: ['severity="page"', tierMatcher(businessHoursPage)], mute_time_intervals: [BUSINESS_HOURS_INTERVAL] },
        { receiver: 'ticket', matchers: ['severity="ticket"'] },
        { receiver: 'heads-up', matchers: ['severity="heads_up"'], repeat_interval: '24h' },
      ],
    },
    receivers: ReceiverName.map((name) => {
      const list = urls(name);
      return list.length ? { name, webhook_configs: list.map((url) => ({ url, send_resolved: true, max_alerts: 0 })) } : { name };
    }),
    time_intervals: [
      {
        name: BUSINESS_HOURS_INTERVAL,
        time_intervals: [{ weekdays: hours.days.map((d) => WEEKDAY_NAMES[d]), times: [{ start_time: hours.start, end_time: hours.end }], location: hours.timezone }],
      },
    ],
    inhibit_rules: [
      {
        source_matchers: ['alertname="ModelUnstable"', 'role="baseline"'],
        target_matchers: ['alertname="ModelUnstable"', `role=~"${INHIBITED_ROLES.join('|')}"`],
        equal: ['alertname', 'model_type'],
      },
    ],
  };
}

/** The config as YAML, with a header saying where it comes from. */
export function alertmanagerConfigYaml(config: AlertmanagerConfig): string {
  const header = '# Generated by modelfleet: do not edit; set receiver URLs in the server options and regenerate (docs/monitoring.md).\n';
  return header + stringify(config, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Where an alert with these labels goes: the receivers of the matching routes, with the time interval each is active or muted in. */
export interface RoutedReceiver {
  receiver: string;
  activeIn?: string[];
  mutedIn?: string[];
  /** Whether the receiver has anywhere to deliver. */
  delivers: boolean;
}

/**
 * Walks the routing tree as Alertmanager does (first matching child, more when `continue` is set), for
 * the coverage report: an alert that reaches no receiver able to deliver is a gap.
 */
export function routeAlert(config: AlertmanagerConfig, labels: Record<string, string>): RoutedReceiver[] {
  const delivering = new Set(config.receivers.filter((r) => r.webhook_configs?.length).map((r) => r.name as string));
  const out: RoutedReceiver[] = [];
  const walk = (route: AlertmanagerRoute): boolean => {
    if (!(route.matchers ?? []).every((m) => matches(m, labels))) return false;
    let matchedChild = false;
    for (const child of route.routes ?? []) {
      if (walk(child)) {
        matchedChild = true;
        if (!child.continue) break;
      }
    }
    if (!matchedChild) {
      out.push({
        receiver: route.receiver,
        ...(route.active_time_intervals ? { activeIn: route.active_time_intervals } : {}),
        ...(route.mute_time_intervals ? { mutedIn: route.mute_time_intervals } : {}),
        delivers: delivering.has(route.receiver),
      });
    }
    return true;
  };
  walk(config.route);
  return out;
}

function matches(matcher: string, labels: Record<string, string>): boolean {
  const m = /^(\w+)(=~|!~|!=|=)"(.*)"$/.exec(matcher);
  if (!m) throw new Error(`unsupported matcher ${matcher}`);
  const [, name, op, value] = m as unknown as [string, string, string, string];
  const actual = labels[name] ?? '';
  switch (op) {
    case '=':
      return actual === value;
    case '!=':
      return actual !== value;
    case '=~':
      return new RegExp(`^(?:${value})$`).test(actual);
    default:
      return !new RegExp(`^(?:${value})$`).test(actual);
  }
}
