import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { invalidInput } from '../core/errors.js';
import { zodDetails } from '../core/zodIssues.js';
import { SloObjectivesSchema } from '../stability/slo.js';
import { NotifiersConfigSchema } from './notifiers/notifier.js';
import { BusinessHoursSchema, DEFAULT_BUSINESS_HOURS } from './routing.js';

const Days = z.number().positive().max(3650);

/**
 * The server's stability and alerting settings (`modelfleet serve --stability-config FILE`): SLO
 * objectives per tier, business hours for TIER2 pages, notifiers, lateness and retention.
 */
export const StabilityConfigSchema = z
  .object({
    baseUrl: z.url().optional().describe('the address on-call reaches the console and API at; alert links use it (default: the server URL)'),
    objectives: SloObjectivesSchema.default({}).describe('SLO objective per tier, overriding the defaults (TIER0 0.999 ... TIER4 0.9)'),
    businessHours: BusinessHoursSchema.default(DEFAULT_BUSINESS_HOURS),
    notifiers: NotifiersConfigSchema.default([]),
    latenessMinutes: z.number().int().min(1).max(24 * 60).default(60).describe('events older than this are rejected'),
    maxCatchUpMinutes: z.number().int().min(1).max(24 * 60).default(60).describe('after downtime, evaluate at most this many missed minutes (the newest)'),
    alertmanagerReceivers: z
      .object({
        page: z.array(z.url()).optional(),
        'business-hours-page': z.array(z.url()).optional(),
        ticket: z.array(z.url()).optional(),
        'heads-up': z.array(z.url()).optional(),
      })
      .strict()
      .default({})
      .describe("webhook URLs of the generated Alertmanager config's receivers (GET /api/v1/monitoring/files/alertmanager/alertmanager.yml); left out: placeholders"),
    retention: z
      .object({
        minuteBucketsDays: Days.default(2),
        hourBucketsDays: Days.default(90),
        minuteEvaluationsDays: Days.default(2),
        hourEvaluationsDays: Days.default(90),
      })
      .strict()
      .default({ minuteBucketsDays: 2, hourBucketsDays: 90, minuteEvaluationsDays: 2, hourEvaluationsDays: 90 }),
  })
  .strict();
export type StabilityConfig = z.output<typeof StabilityConfigSchema>;

/** Reads and checks a stability config file, naming the field and file of every problem. */
export function loadStabilityConfig(file: string): StabilityConfig {
  let value: unknown;
  try {
    value = parse(readFileSync(file, 'utf8')) ?? {};
  } catch (error) {
    throw invalidInput(`cannot read stability config ${file}: ${(error as Error).message}`);
  }
  const parsed = StabilityConfigSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const details = zodDetails(parsed.error, { schema: StabilityConfigSchema, input: value }).map((d) => ({ path: `${file}: ${d.path}`, message: d.message }));
  throw invalidInput(`stability config ${file} is invalid (${details.length} problem${details.length === 1 ? '' : 's'}); fix each and restart`, details);
}
