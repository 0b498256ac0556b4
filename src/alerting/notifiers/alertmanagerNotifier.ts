import { percent } from '../../registry/onCallBrief.js';
import { describeBurn, describeViolation } from '../alert.js';
import type { Notification } from '../lifecycle.js';
import { type AlertmanagerNotifierConfig, type Notifier, selectBySeverity } from './notifier.js';
import { postJson, redactUrl } from './postJson.js';

/** One alert in Alertmanager's v2 API (`POST /api/v2/alerts` takes an array of these). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

/** How many missed re-sends Alertmanager tolerates before it lets a firing alert lapse, as Prometheus does. */
const LAPSE_AFTER_RESENDS = 4;

/**
 * The Alertmanager form of a notification. A firing alert ends a few re-send intervals from now, so
 * it stays active only while modelfleet keeps sending it (if modelfleet stops, it lapses instead of
 * firing forever); a resolved one ends at the time it resolved.
 */
export function postableAlert(notification: Notification, now: Date, resendEveryMs: number): PostableAlert {
  const { alert, transition } = notification;
  const d = alert.details;
  const endsAt = transition === 'resolved' ? (alert.endsAt ?? now.toISOString()) : new Date(now.getTime() + LAPSE_AFTER_RESENDS * resendEveryMs).toISOString();
  const finding = d.tasks.length ? d.tasks.map(describeViolation).join('; ') : d.burn ? describeBurn(d.burn) : '';
  const annotations: Record<string, string> = {
    summary: alert.summary,
    description: [
      `what: ${d.businessFunction}`,
      `tier: ${d.tier}${d.tier === d.typeTier ? '' : ` (type ${d.typeTier})`}; role: ${d.role}, ${percent(d.trafficShare)} of traffic; baseline: ${d.baseline ?? 'none'}`,
      `owner: team ${d.ownerTeam}; on-call: ${d.oncall.rotation} (${d.oncall.coverage})`,
      finding ? `finding: ${finding}` : '',
      `since: ${d.since}`,
      `routing: ${d.routing}`,
    ]
      .filter(Boolean)
      .join('\n'),
    action: d.action.text,
    business_function: d.businessFunction,
    owner: d.ownerTeam,
    oncall: `${d.oncall.rotation} (${d.oncall.coverage})`,
    since: d.since,
    runbook_url: d.links.model,
    stability_url: d.links.stability,
    history_url: d.links.history,
  };
  if (d.action.http) annotations.action_api = `${d.action.http.method} ${d.action.http.url}`;
  if (d.action.cli) annotations.action_cli = d.action.cli;
  return { labels: { ...alert.labels }, annotations, startsAt: alert.startsAt, endsAt, generatorURL: d.links.stability };
}

/** Joins Alertmanager's base URL (which may carry a path prefix behind a proxy) and the v2 alerts path. */
export const alertmanagerAlertsUrl = (base: string): string => `${base.replace(/\/+$/, '')}/api/v2/alerts`;

/**
 * Posts batches to Alertmanager's v2 API. Alertmanager does the grouping, silencing, inhibition and
 * routing; firing alerts must be re-sent every `resendEveryMs` (see `alertsToRepeat`).
 */
export function alertmanagerNotifier(config: AlertmanagerNotifierConfig, clock: () => Date = () => new Date()): Notifier {
  const name = config.name ?? config.kind;
  const url = alertmanagerAlertsUrl(config.url);
  return {
    name,
    target: redactUrl(config.url),
    resendFiringEveryMs: config.resendEveryMs,
    async send(batch) {
      const selected = selectBySeverity(batch, config.minSeverity);
      if (selected.length === 0) return;
      const now = clock();
      await postJson(
        { notifier: name, url, headers: config.headers, timeoutMs: config.timeoutMs },
        selected.map((n) => postableAlert(n, now, config.resendEveryMs)),
      );
    },
  };
}
