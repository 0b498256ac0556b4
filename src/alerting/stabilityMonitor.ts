import type { Logger } from 'pino';
import type { Clock } from '../registry/registryService.js';
import type { ModelEvaluation } from '../stability/evaluation.js';
import { evaluateFleet } from '../stability/evaluator.js';
import { HOUR_MS, MINUTE_MS } from '../stability/eventBatch.js';
import type { RegistrySnapshotSource } from '../stability/registrySnapshot.js';
import { BURN_RATE_RULES } from '../stability/slo.js';
import type { StabilityService } from '../stability/stabilityService.js';
import type { RetentionPolicy, StabilityStore } from '../stability/stabilityStore.js';
import type { Alert, DesiredAlert } from './alert.js';
import type { AlertStore } from './alertStore.js';
import { budgetBurnAlert, modelUnstableAlert, type AlertSettings } from './desiredAlerts.js';
import { alertsToRepeat, markNotified, reconcileAlerts, type Notification } from './lifecycle.js';
import { StoreLease } from './storeLease.js';
import type { Notifier } from './notifiers/notifier.js';

const CURSOR = 'stability.lastEvaluatedMinute';
const LEASE = 'stability.monitor';
const LEASE_MS = 3 * MINUTE_MS;
const PURGED = 'stability.lastPurge';

export const DEFAULT_RETENTION: RetentionPolicy = {
  minuteBucketsMs: 2 * 24 * HOUR_MS,
  hourBucketsMs: 90 * 24 * HOUR_MS,
  minuteEvaluationsMs: 2 * 24 * HOUR_MS,
  hourEvaluationsMs: 90 * 24 * HOUR_MS,
  idempotencyKeysMs: 24 * HOUR_MS,
  resolvedAlertsMs: 30 * 24 * HOUR_MS,
};

export interface MonitorOptions {
  alerts: AlertSettings;
  notifiers: Notifier[];
  retention: RetentionPolicy;
  /** After downtime, evaluate at most this many missed minutes (the newest), so catching up stays quick. */
  maxCatchUpMinutes: number;
  /**
   * Who may evaluate when several processes share the database: on PostgreSQL an advisory lock; left
   * out, a lease in the store (`StoreLease`).
   */
  leadership?: Leadership;
}

/** Decides which one of several processes on one database is the leader. */
export interface Leadership {
  /** True while this process leads; a follower tries to become the leader on each call. */
  isLeader(): Promise<boolean>;
  /** Gives leadership up for good, so another process can take it at once. */
  close(): Promise<void>;
}

export interface TickResult {
  /** False when another server leads (holds the lease or the lock) and this one did nothing. */
  leader: boolean;
  evaluatedMinutes: number[];
  evaluations: ModelEvaluation[];
  firing: number;
  notified: number;
  failedDeliveries: number;
}

/**
 * Runs stability once a minute: evaluates every monitored model at each due minute boundary, judges
 * SLO burn rates, moves alerts to match and tells the notifiers. Its progress (the last evaluated
 * minute) and the alerts are stored, so a restart resumes where it stopped without re-notifying.
 */
export class StabilityMonitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  /** Only the leader among the processes sharing the database evaluates. */
  private readonly leadership: Leadership;
  private readonly evaluatedListeners = new Set<(evaluations: readonly ModelEvaluation[], at: number) => void>();

  constructor(
    private readonly store: StabilityStore,
    private readonly alertStore: AlertStore,
    private readonly snapshots: RegistrySnapshotSource,
    private readonly stability: StabilityService,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: MonitorOptions,
  ) {
    this.leadership = options.leadership ?? new StoreLease(store, clock, LEASE, LEASE_MS);
  }

  /** Ticks every `intervalMs` (a minute boundary is noticed within that); ticks never overlap. */
  start(intervalMs = 5_000): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .catch((error) => this.logger.error({ err: error }, 'stability evaluation failed; retrying next tick'))
        .finally(() => (this.running = null));
    }, intervalMs);
    this.timer.unref();
  }

  /**
   * Calls `listener` after each tick that evaluated, with the evaluations of the newest minute (every
   * monitored model's) and that minute. Only the leader evaluates, so only it calls listeners.
   */
  onEvaluated(listener: (evaluations: readonly ModelEvaluation[], at: number) => void): () => void {
    this.evaluatedListeners.add(listener);
    return () => this.evaluatedListeners.delete(listener);
  }

  /** Points alert links at the address the server is reachable on, when the config names none. */
  useBaseUrl(url: string): void {
    this.options.alerts = { ...this.options.alerts, baseUrl: url };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.leadership.close();
  }

  /** Evaluates every minute boundary that is due, then alerts on the newest. */
  async tick(): Promise<TickResult> {
    const now = this.clock.now().getTime();
    const due = now - (now % MINUTE_MS);
    const result: TickResult = { leader: true, evaluatedMinutes: [], evaluations: [], firing: 0, notified: 0, failedDeliveries: 0 };
    // Checked every tick, so a follower takes over within a tick of the leader stopping.
    if (!(await this.leadership.isLeader())) return { ...result, leader: false };
    const last = await this.store.jobState(CURSOR);
    const first = last === null ? due : Math.max(Number(last) + MINUTE_MS, due - (this.options.maxCatchUpMinutes - 1) * MINUTE_MS);
    if (first > due) return result;
    const snapshot = await this.snapshots.current();
    for (let at = first; at <= due; at += MINUTE_MS) {
      const evaluations = await evaluateFleet(this.store, snapshot, at);
      await this.store.writeEvaluations(at, evaluations);
      await this.store.setJobState(CURSOR, String(at));
      result.evaluatedMinutes.push(at);
      result.evaluations = evaluations;
    }
    const newest = result.evaluatedMinutes.at(-1);
    if (newest !== undefined) for (const listener of this.evaluatedListeners) listener(result.evaluations, newest);

    const desired: DesiredAlert[] = [];
    const settings = this.options.alerts;
    for (const evaluation of result.evaluations) {
      const entry = snapshot.entries.get(evaluation.modelId);
      const alert = entry && modelUnstableAlert(evaluation, entry.model, entry.type, settings);
      if (alert) desired.push(alert);
    }
    for (const slo of await this.stability.sloReportsAt(due, snapshot)) {
      const entry = snapshot.entries.get(slo.model);
      if (!entry) continue;
      for (const fired of slo.report.firing) {
        const rule = BURN_RATE_RULES.find((r) => r.name === fired.rule)!;
        desired.push(
          budgetBurnAlert(
            { window: `${hours(rule.longMinutes)}/${hours(rule.shortMinutes)}`, burnRate: fired.longBurn, threshold: fired.threshold, objective: slo.report.objective, severity: fired.severity, at: new Date(due) },
            entry.model,
            entry.type,
            settings,
          ),
        );
      }
    }
    result.firing = desired.length;
    const open = await this.alertStore.open();
    const openIds = new Set(open.map((a) => a.fingerprint));
    const refiring = await this.alertStore.byFingerprints(desired.map((d) => d.fingerprint).filter((f) => !openIds.has(f)));
    const reconciled = reconcileAlerts([...open, ...refiring], desired, new Date(now));
    await this.alertStore.upsert(reconciled.alerts);
    const delivered = await this.deliver(reconciled.notifications, new Date(now));
    result.notified = delivered.notified;
    result.failedDeliveries = delivered.failed;
    await this.purgeHourly(now);
    return result;
  }

  /** Sends transitions to every notifier, and re-sends firing alerts to those that forget them. */
  private async deliver(notifications: Notification[], now: Date): Promise<{ notified: number; failed: number }> {
    let failed = 0;
    const failedFingerprints = new Set<string>();
    const repeated = new Map<string, Alert>();
    const sending = new Set(notifications.map((n) => n.alert.fingerprint));
    const open = this.options.notifiers.some((n) => n.resendFiringEveryMs !== null) ? (await this.alertStore.open()).filter((a) => !sending.has(a.fingerprint)) : [];
    for (const notifier of this.options.notifiers) {
      const repeats = notifier.resendFiringEveryMs === null ? [] : alertsToRepeat(open, now, notifier.resendFiringEveryMs);
      const batch = [...notifications, ...repeats];
      if (!batch.length) continue;
      try {
        await notifier.send(batch);
        for (const r of repeats) repeated.set(r.alert.fingerprint, r.alert);
      } catch (error) {
        failed += 1;
        for (const n of batch) failedFingerprints.add(n.alert.fingerprint);
        this.logger.warn({ notifier: notifier.name, target: notifier.target, err: (error as Error).message }, 'alert delivery failed; it will be retried next minute');
      }
    }
    // Only what every notifier accepted counts as heard; the rest stays pending and goes out again next tick.
    const heard = [...notifications.map((n) => n.alert), ...repeated.values()].filter((a) => !failedFingerprints.has(a.fingerprint)).map((a) => markNotified(a, now));
    await this.alertStore.upsert(heard);
    return { notified: notifications.filter((n) => !failedFingerprints.has(n.alert.fingerprint)).length, failed };
  }

  private async purgeHourly(now: number): Promise<void> {
    const last = Number((await this.store.jobState(PURGED)) ?? 0);
    if (now - last < HOUR_MS) return;
    const removed = await this.store.purge(now, this.options.retention);
    await this.store.setJobState(PURGED, String(now));
    this.logger.info({ removed }, 'stability retention applied');
  }
}

const hours = (minutes: number) => (minutes % 1440 === 0 ? `${minutes / 1440}d` : minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`);
