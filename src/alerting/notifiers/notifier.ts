import { z } from 'zod';
import { Severity, severityRank } from '../alert.js';
import { type Notification, notificationSeverity } from '../lifecycle.js';

/** A receiver of alert notifications. Delivery is at least once: a failed batch is sent again whole. */
export interface Notifier {
  /** Names the notifier in errors and logs; never a URL. */
  readonly name: string;
  /** The receiver's address with any secret path or query hidden, for logs. */
  readonly target: string;
  /**
   * How often firing alerts must be sent again for the receiver to keep them active (see
   * `alertsToRepeat`); null when one notification per transition is enough.
   */
  readonly resendFiringEveryMs: number | null;
  /** Delivers the batch; rejects with a {@link NotifierError} when the receiver did not accept it. */
  send(batch: readonly Notification[]): Promise<void>;
}

/** A receiver refused or could not be reached. The message names the notifier and status, never a secret. */
export class NotifierError extends Error {
  readonly notifier: string;
  /** The HTTP status the receiver answered with; null when there was no answer. */
  readonly status: number | null;

  constructor(notifier: string, status: number | null, message: string) {
    super(message);
    this.name = 'NotifierError';
    this.notifier = notifier;
    this.status = status;
  }
}

const HttpUrlSchema = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), 'must not carry user:password@; put credentials in headers (e.g. Authorization)');

const HeadersSchema = z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'header names are HTTP tokens'), z.string()).default({});

const common = {
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'notifier names are lower-case letters, digits, _ and -')
    .optional()
    .describe('shown in logs and errors; defaults to the kind'),
  minSeverity: z.enum(Severity).optional().describe("deliver only alerts at least this severe: 'page' sends pages only"),
  timeoutMs: z.number().int().positive().max(60_000).default(5_000),
};

export const WebhookNotifierConfigSchema = z
  .object({
    kind: z.literal('webhook'),
    url: HttpUrlSchema.describe('receives POST {version: 1, notifications: [...]}'),
    headers: HeadersSchema.describe('sent with every request, e.g. Authorization; never logged'),
    ...common,
  })
  .strict();

export const SlackNotifierConfigSchema = z
  .object({
    kind: z.literal('slack'),
    url: HttpUrlSchema.describe('a Slack (or Slack-compatible) incoming webhook URL; it is a secret and is never logged'),
    ...common,
  })
  .strict();

export const AlertmanagerNotifierConfigSchema = z
  .object({
    kind: z.literal('alertmanager'),
    url: HttpUrlSchema.describe("Alertmanager's base URL, e.g. http://alertmanager:9093; alerts go to /api/v2/alerts under it"),
    headers: HeadersSchema.describe('sent with every request, e.g. Authorization for a proxy in front; never logged'),
    resendEveryMs: z
      .number()
      .int()
      .min(1_000)
      .max(3_600_000)
      .default(60_000)
      .describe('firing alerts are re-sent this often and stay active four times as long, so Alertmanager drops them soon after modelfleet stops sending'),
    ...common,
  })
  .strict();

/** One notifier's configuration, by kind. */
export const NotifierConfigSchema = z.discriminatedUnion('kind', [WebhookNotifierConfigSchema, SlackNotifierConfigSchema, AlertmanagerNotifierConfigSchema]);
export type NotifierConfig = z.output<typeof NotifierConfigSchema>;
export type NotifierConfigInput = z.input<typeof NotifierConfigSchema>;
export type WebhookNotifierConfig = z.output<typeof WebhookNotifierConfigSchema>;
export type SlackNotifierConfig = z.output<typeof SlackNotifierConfigSchema>;
export type AlertmanagerNotifierConfig = z.output<typeof AlertmanagerNotifierConfigSchema>;

/** Every configured notifier; names (given or defaulted to the kind) must not repeat. */
export const NotifiersConfigSchema = z.array(NotifierConfigSchema).superRefine((configs, ctx) => {
  const seen = new Map<string, number>();
  configs.forEach((config, index) => {
    const name = config.name ?? config.kind;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, index);
    else ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `notifier name '${name}' is already used by notifier ${first}: give each notifier of the same kind its own name` });
  });
});

/** The notifications a notifier with this `minSeverity` delivers; all of them without one. */
export function selectBySeverity(batch: readonly Notification[], minSeverity: Severity | undefined): Notification[] {
  if (!minSeverity) return [...batch];
  return batch.filter((n) => severityRank(notificationSeverity(n)) <= severityRank(minSeverity));
}
