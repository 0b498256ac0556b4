import { percent } from '../../registry/onCallBrief.js';
import { type Alert, type Severity, describeViolation, formatBand, formatValue } from '../alert.js';
import type { Notification } from '../lifecycle.js';
import { type Notifier, type SlackNotifierConfig, selectBySeverity } from './notifier.js';
import { postJson, redactUrl } from './postJson.js';

/** A Slack incoming-webhook message: `text` is the fallback that Slack-compatible chats without blocks show. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

type SlackText = { type: 'plain_text' | 'mrkdwn'; text: string; emoji?: boolean };
export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'divider' };

const severityWord: Record<Severity, string> = { page: 'PAGE', ticket: 'TICKET', heads_up: 'HEADS-UP' };
const severityIcon: Record<Severity, string> = { page: ':rotating_light:', ticket: ':ticket:', heads_up: ':information_source:' };
const kindWords: Record<Alert['kind'], string> = { ModelUnstable: 'model unstable', StabilityBudgetBurn: 'stability budget burn' };

/**
 * One Slack message per notification. Firing and escalated messages carry everything on-call needs
 * (model, tier, owner, on-call, role, the finding against its band, since when, what to do, links);
 * resolved ones are a single line.
 */
export function slackMessage(notification: Notification): SlackMessage {
  const { alert, transition } = notification;
  const d = alert.details;
  const links = `<${d.links.model}|model> · <${d.links.stability}|stability> · <${d.links.history}|history>`;
  if (transition === 'resolved') {
    const line = `RESOLVED ${kindWords[alert.kind]}: ${alert.modelId} after ${formatDuration(alert.startsAt, alert.endsAt)}`;
    return {
      text: line,
      blocks: [
        { type: 'section', text: mrkdwn(`:white_check_mark: *${escape(line)}*`) },
        { type: 'context', elements: [mrkdwn(links)] },
      ],
    };
  }
  const loudness = `${transition === 'escalated' ? 'ESCALATED to ' : ''}${severityWord[alert.severity]}`;
  const heading = `${loudness}: ${kindWords[alert.kind]}: ${alert.modelId}`;
  const finding = primaryFinding(alert);
  const fields: Array<[string, string]> = [
    ['Model', d.model],
    ['Tier', d.tier === d.typeTier ? d.tier : `${d.tier} (type ${d.typeTier})`],
    ['Owner', `team ${d.ownerTeam}`],
    ['On-call', `${d.oncall.rotation} (${d.oncall.coverage})`],
    ['Role', `${d.role}, ${percent(d.trafficShare)} of traffic`],
    ['Task', finding.task],
    ['Metric', finding.metric],
    ['Value', finding.value],
    ['Band', finding.band],
    ['Since', d.since],
  ];
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(`${severityIcon[alert.severity]} ${heading}`, 150), emoji: true } },
    { type: 'section', text: mrkdwn(truncate(`*${escape(alert.summary)}*\n${escape(d.businessFunction)}`, 3000)) },
    { type: 'section', fields: fields.map(([label, value]) => mrkdwn(truncate(`*${label}*\n${escape(value)}`, 2000))) },
  ];
  if (d.tasks.length > 1) {
    blocks.push({ type: 'section', text: mrkdwn(truncate(`*Out of band*\n${d.tasks.map((v) => `• ${escape(describeViolation(v))}`).join('\n')}`, 3000)) });
  }
  const how = [d.action.http ? `\`${d.action.http.method} ${d.action.http.url}\`` : '', d.action.cli ? `\`${d.action.cli}\`` : ''].filter(Boolean).join(' or ');
  blocks.push({ type: 'section', text: mrkdwn(truncate(`*What to do:* ${escape(d.action.text)}${how ? `\n${how}` : ''}`, 3000)) });
  blocks.push({ type: 'context', elements: [mrkdwn(links), mrkdwn(truncate(escape(d.routing), 2000))] });
  return { text: `${loudness}: ${alert.summary}. What to do: ${d.action.text}`, blocks };
}

/** The task, metric, value and band the message leads with; a burn-rate alert reads as the budget's. */
function primaryFinding(alert: Alert): { task: string; metric: string; value: string; band: string } {
  const { tasks, burn } = alert.details;
  const first = tasks[0];
  if (first) return { task: first.task, metric: first.metric, value: formatValue(first.value), band: formatBand(first.band) };
  if (burn) return { task: 'all tasks', metric: `budget burn over ${burn.window}`, value: `${formatValue(burn.burnRate)}x`, band: `below ${formatValue(burn.threshold)}x` };
  return { task: '-', metric: '-', value: '-', band: '-' };
}

/** Posts each notification to a Slack-compatible incoming webhook, one message each, in order. */
export function slackNotifier(config: SlackNotifierConfig): Notifier {
  const name = config.name ?? config.kind;
  return {
    name,
    target: redactUrl(config.url),
    resendFiringEveryMs: null,
    async send(batch) {
      for (const notification of selectBySeverity(batch, config.minSeverity)) {
        await postJson({ notifier: name, url: config.url, timeoutMs: config.timeoutMs }, slackMessage(notification));
      }
    },
  };
}

const mrkdwn = (text: string): SlackText => ({ type: 'mrkdwn', text });

/** Slack treats &, < and > as markup; everything else in mrkdwn is safe to show as is. */
const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const truncate = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** "2h 5m" between two RFC 3339 instants. */
export function formatDuration(from: string, to: string | null): string {
  if (!to) return 'an unknown time';
  const ms = Math.max(0, Date.parse(to) - Date.parse(from));
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return 'less than a minute';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  return [days ? `${days}d` : '', hours ? `${hours}h` : '', rest ? `${rest}m` : ''].filter(Boolean).join(' ');
}
