import { PredictionLogger } from '../client/predictionLogger.js';
import type { Model } from '../registry/model.js';
import type { ModelType } from '../registry/modelType.js';
import { createRng, type Rng } from './random.js';
import { simulateTraffic, type Fault, type TaskTraffic } from './traffic.js';

const MINUTE = 60_000;

export interface DemoTrafficOptions {
  server: string;
  token: string;
  /** How many monitored models send traffic. */
  models?: number;
  perMinute?: number;
  seed?: number;
}

export interface InjectedFault {
  model: string;
  role: Model['role'];
  tier: Model['effectiveCriticality'];
  fault: Fault;
  description: string;
}

/**
 * The demo's serving processes: labeled predictions for a slice of the fleet, logged through the
 * real client over HTTP, with two models going bad (one experiment over-predicting by 30%, one
 * baseline with noisy labels) so alerts and both first responses show up within minutes.
 */
export class DemoTraffic {
  private readonly rng: Rng;
  private readonly logger: PredictionLogger;
  private readonly traffic: TaskTraffic[];
  private readonly faults = new Map<string, Fault>();
  readonly injected: InjectedFault[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sentUntil = 0;

  constructor(models: readonly Model[], types: ReadonlyMap<string, ModelType>, options: DemoTrafficOptions) {
    this.rng = createRng(options.seed ?? 11);
    this.logger = new PredictionLogger({ server: options.server, token: options.token, flushOnExit: false });
    const monitored = models.filter((m) => m.role !== 'retired' && Object.keys(m.thresholds).length && types.has(m.modelType));
    const chosen = this.rng.sample(monitored, options.models ?? 60);
    const experiment = chosen.find((m) => m.role === 'experiment' && m.trafficShare > 0 && types.get(m.modelType)!.baselineModelId);
    const baseline = chosen.find((m) => m.role === 'baseline' && m.modelType !== experiment?.modelType);
    if (experiment) this.inject(experiment, { kind: 'scale', factor: 1.3 }, 'predictions scaled by 1.3');
    if (baseline) this.inject(baseline, { kind: 'noisy_labels', flipRate: 0.1 }, '10% of labels flipped');
    this.traffic = chosen.flatMap((m) =>
      types.get(m.modelType)!.tasks.map((t) => ({ model: m.id, task: t.name, ctr: Math.round(this.rng.float(0.03, 0.15) * 1000) / 1000, perMinute: options.perMinute ?? 300 })),
    );
  }

  private inject(model: Model, fault: Fault, description: string): void {
    this.faults.set(model.id, fault);
    this.injected.push({ model: model.id, role: model.role, tier: model.effectiveCriticality, fault, description });
  }

  get modelCount(): number {
    return new Set(this.traffic.map((t) => t.model)).size;
  }

  /** Logs the last `minutes` of traffic (within the server's lateness), so windows are full at once. */
  async backfill(now: number, minutes: number): Promise<void> {
    this.sentUntil = now - minutes * MINUTE;
    await this.sendUntil(now);
  }

  /** Keeps logging every `everyMs` until stopped. */
  start(everyMs = 10_000): void {
    this.timer = setInterval(() => void this.sendUntil(Date.now()), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.logger.close({ timeoutMs: 5_000 });
  }

  private async sendUntil(now: number): Promise<void> {
    const minutes = (now - this.sentUntil) / MINUTE;
    if (minutes <= 0) return;
    const start = this.sentUntil;
    this.sentUntil = now;
    for (const t of this.traffic) {
      const batch = simulateTraffic(this.rng, t, start, minutes, this.faults.get(t.model) ?? null);
      for (let i = 0; i < batch.p.length; i++) this.logger.log({ model: batch.model, task: batch.task, p: batch.p[i]!, y: batch.y[i] as 0 | 1, ts: batch.ts[i]! });
      // A backfill is millions of events: deliver as it goes rather than outgrow the logger's buffer.
      if (this.logger.stats().buffered > 100_000) await this.logger.flush();
    }
    await this.logger.flush();
  }
}
