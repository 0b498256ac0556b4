import { z } from 'zod';
import { LaunchPolicy, ModelRole, isLiveRole } from '../registry/vocabulary.js';

/**
 * A team's virtual pool: its quota in capacity units (replicas x unit cost) against what its live
 * models hold and what its running launches have reserved. Pure: the quota service reads the inputs.
 */

/** The team fields the pool needs. */
export interface PoolTeam {
  name: string;
  quota: number | null;
  launchPolicy: LaunchPolicy;
}

/** The model fields the pool needs; `capacity` is the model's capacity profile, if it has one. */
export interface PoolModel {
  id: string;
  role: ModelRole;
  capacity: { replicas: number; unitCost: number } | null;
}

/** One model's share of a pool. */
export const PoolModelUsageSchema = z.object({
  id: z.string(),
  role: z.enum(ModelRole),
  replicas: z.number().int(),
  unitCost: z.number(),
  units: z.number().describe('replicas x unitCost'),
});
export type PoolModelUsage = z.infer<typeof PoolModelUsageSchema>;

export const TeamPoolSchema = z.object({
  team: z.string(),
  launchPolicy: z.enum(LaunchPolicy),
  quota: z.number().nullable().describe('capacity units the team may hold; null: no quota, launches are never refused for capacity'),
  used: z.number().describe("units held by the team's live models (every role but retired) with a capacity profile: replicas x unitCost"),
  reserved: z.number().describe("units reserved by the team's running launches"),
  free: z.number().nullable().describe('quota - used - reserved; negative when the team is over its quota (e.g. after the quota was lowered); null without a quota'),
  usedShare: z.number().nullable().describe('(used + reserved) / quota; null without a quota or with a quota of 0'),
  models: z.array(PoolModelUsageSchema).describe('the models counted in used, largest first'),
});
export type TeamPool = z.infer<typeof TeamPoolSchema>;

/** Sums of fractional unit costs drift (0.1 + 0.2); six decimals is far finer than any quota. */
const units = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * The pool of one team. `models` are the team's models (those of the model types it owns), of any
 * role: retired ones and those without a capacity profile hold nothing. `reservations` are the
 * capacity units each running launch of the team holds.
 */
export function teamPoolUsage(input: { team: PoolTeam; models: readonly PoolModel[]; reservations: readonly number[] }): TeamPool {
  const { team } = input;
  const models: PoolModelUsage[] = [];
  for (const model of input.models) {
    if (!isLiveRole(model.role) || !model.capacity) continue;
    const { replicas, unitCost } = model.capacity;
    models.push({ id: model.id, role: model.role, replicas, unitCost, units: units(replicas * unitCost) });
  }
  models.sort((a, b) => b.units - a.units || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const used = units(models.reduce((sum, m) => sum + m.units, 0));
  const reserved = units(input.reservations.reduce((sum, r) => sum + r, 0));
  const quota = team.quota;
  return {
    team: team.name,
    launchPolicy: team.launchPolicy,
    quota,
    used,
    reserved,
    free: quota === null ? null : units(quota - used - reserved),
    usedShare: quota === null || quota === 0 ? null : units((used + reserved) / quota),
    models,
  };
}
