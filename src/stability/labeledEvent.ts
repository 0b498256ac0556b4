import { z } from 'zod';
import { zodDetails } from '../core/zodIssues.js';

/** Epoch milliseconds, or an RFC 3339 timestamp turned into them. */
const TimestampSchema = z.union([
  z.number().finite().nonnegative(),
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, 'use epoch milliseconds or an RFC 3339 time such as 2026-11-25T10:00:00.123Z')
    .transform((text) => Date.parse(text)),
]);

/** One labeled prediction: what the model predicted for a task, and what the user then did. */
export const LabeledEventSchema = z
  .object({
    model: z.string().min(1).max(300),
    task: z.string().regex(/^P[A-Z0-9_]+$/, "task names start with 'P' followed by upper-case letters, digits or '_'"),
    p: z.number().min(0, 'p is a probability in [0, 1]').max(1, 'p is a probability in [0, 1]'),
    y: z.union([z.literal(0), z.literal(1)], { error: 'y is the label: 0 or 1' }),
    ts: TimestampSchema,
    w: z.number().finite().positive('w is a positive weight').default(1),
    id: z.string().max(200).optional(),
  })
  .strict();
export type LabeledEvent = z.output<typeof LabeledEventSchema>;

/** `60s`, `5m`, `1h`, `1d` or plain milliseconds. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 'ms') as 'ms'];
  const value = Number(match[1]) * unit;
  return value > 0 ? value : null;
}

/** Parses one event, or says in one line what is wrong with it and where. */
export function parseLabeledEvent(value: unknown): { event: LabeledEvent } | { problem: string } {
  const parsed = LabeledEventSchema.safeParse(value);
  if (parsed.success) return { event: parsed.data };
  const details = zodDetails(parsed.error, { schema: LabeledEventSchema, input: value });
  return { problem: details.map((d) => `${d.path}: ${d.message}`).join('; ') };
}
