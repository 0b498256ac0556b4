import type { Alert } from '../alert.js';
import type { Notification, Transition } from '../lifecycle.js';
import { type Notifier, type WebhookNotifierConfig, selectBySeverity } from './notifier.js';
import { postJson, redactUrl } from './postJson.js';

/** The body a generic webhook receives; `version` changes only when a field is removed or changes meaning. */
export interface WebhookPayload {
  version: 1;
  notifications: Array<{ transition: Transition; alert: Alert }>;
}

/** Builds the webhook body: the whole stored alert, so receivers see exactly what the API shows. */
export const webhookPayload = (batch: readonly Notification[]): WebhookPayload => ({
  version: 1,
  notifications: batch.map((n) => ({ transition: n.transition, alert: n.alert })),
});

/** POSTs every batch as one JSON document to a generic webhook. */
export function webhookNotifier(config: WebhookNotifierConfig): Notifier {
  const name = config.name ?? config.kind;
  return {
    name,
    target: redactUrl(config.url),
    resendFiringEveryMs: null,
    async send(batch) {
      const selected = selectBySeverity(batch, config.minSeverity);
      if (selected.length === 0) return;
      await postJson({ notifier: name, url: config.url, headers: config.headers, timeoutMs: config.timeoutMs }, webhookPayload(selected));
    },
  };
}
