import { Gauge, type Registry } from 'prom-client';
import type { Launch } from '../launch/launch.js';
import { LaunchPhase, isTerminal } from '../launch/launchPhase.js';
import type { LaunchFilter } from '../launch/launchStore.js';

export const LaunchMetricName = {
  launches: 'modelfleet_launches',
  trafficShare: 'modelfleet_launch_traffic_share',
} as const;

/** What the metrics read of launches. */
export interface LaunchSource {
  list(filter: LaunchFilter): Promise<Launch[]>;
}

/** Phases an unfinished launch can be in: each is shown, at 0 when empty, so a rule can compare them. */
const UNFINISHED_PHASES = LaunchPhase.filter((phase) => !isTerminal(phase));

/** A model type has at most one unfinished launch, so this bounds nothing a real fleet reaches. */
const MAX_ACTIVE = 10_000;

/**
 * Launch metrics, read from the launch store at every scrape (so every server of a shared database
 * shows the same): unfinished launches by phase, and the traffic share of each unfinished launch's
 * candidate and baseline. Finished launches are not shown; their history is in the API.
 */
export class LaunchMetrics {
  private readonly launches: Gauge<'phase'>;
  private readonly trafficShare: Gauge<'launch' | 'model_type' | 'model'>;
  private refreshing: Promise<void> | null = null;

  constructor(
    registry: Registry,
    private readonly source: LaunchSource,
  ) {
    const collect = () => this.refresh();
    this.launches = new Gauge({ name: LaunchMetricName.launches, help: 'Unfinished launches by phase', labelNames: ['phase'], registers: [registry], collect });
    this.trafficShare = new Gauge({
      name: LaunchMetricName.trafficShare,
      help: "Share of its type's traffic each model of an unfinished launch (candidate and baseline) is meant to take now",
      labelNames: ['launch', 'model_type', 'model'],
      registers: [registry],
      collect,
    });
  }

  private refresh(): Promise<void> {
    return (this.refreshing ??= this.source
      .list({ active: true, limit: MAX_ACTIVE })
      .then((active) => this.rebuild(active))
      .finally(() => {
        this.refreshing = null;
      }));
  }

  private rebuild(active: readonly Launch[]): void {
    this.launches.reset();
    this.trafficShare.reset();
    for (const phase of UNFINISHED_PHASES) this.launches.set({ phase }, 0);
    for (const launch of active) {
      this.launches.inc({ phase: launch.phase });
      this.trafficShare.set({ launch: launch.id, model_type: launch.modelType, model: launch.candidate }, launch.traffic.candidate);
      if (launch.baseline) this.trafficShare.set({ launch: launch.id, model_type: launch.modelType, model: launch.baseline }, launch.traffic.baseline);
    }
  }
}
