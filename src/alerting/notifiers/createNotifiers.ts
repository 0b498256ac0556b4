import type { NotifierConfig, Notifier } from './notifier.js';
import { alertmanagerNotifier } from './alertmanagerNotifier.js';
import { slackNotifier } from './slackNotifier.js';
import { webhookNotifier } from './webhookNotifier.js';

const factories: { [K in NotifierConfig['kind']]: (config: Extract<NotifierConfig, { kind: K }>, clock: () => Date) => Notifier } = {
  webhook: (config) => webhookNotifier(config),
  slack: (config) => slackNotifier(config),
  alertmanager: (config, clock) => alertmanagerNotifier(config, clock),
};

/**
 * The notifiers for parsed configurations (see `NotifiersConfigSchema`), in order. The clock is the
 * one Alertmanager's lapse times are computed from.
 */
export function createNotifiers(configs: readonly NotifierConfig[], clock: () => Date = () => new Date()): Notifier[] {
  return configs.map((config) => (factories[config.kind] as (config: NotifierConfig, clock: () => Date) => Notifier)(config, clock));
}
