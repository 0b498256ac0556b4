import { Counter, Registry } from 'prom-client';
import type { IngestResult } from '../stability/ingestion.js';

/**
 * Counters of ingestion, so a logging bug (events for an unknown model, clocks an hour off) shows on a
 * dashboard instead of as a silent gap in stability.
 */
export class IngestMetrics {
  private readonly events: Counter<'outcome' | 'reason'>;
  private readonly requests: Counter<'format' | 'replayed'>;

  constructor(registry: Registry) {
    this.events = new Counter({
      name: 'modelfleet_ingest_events_total',
      help: 'Labeled predictions received, by outcome (accepted or rejected) and rejection reason',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    });
    this.requests = new Counter({
      name: 'modelfleet_ingest_requests_total',
      help: 'Ingestion requests, by body format and whether an Idempotency-Key replayed an earlier answer',
      labelNames: ['format', 'replayed'],
      registers: [registry],
    });
  }

  record(format: 'ndjson' | 'columnar', result: IngestResult): void {
    this.requests.inc({ format, replayed: String(result.replayed) });
    if (result.replayed) return;
    if (result.answer.accepted) this.events.inc({ outcome: 'accepted', reason: '' }, result.answer.accepted);
    for (const [reason, n] of Object.entries(result.rejectedBy)) this.events.inc({ outcome: 'rejected', reason }, n);
  }
}
