import { fnv1a } from './featureHash.js';
import type { ModelRole } from '../registry/vocabulary.js';

/**
 * How a model type's user traffic is split between its live models: each model that takes traffic is
 * an arm owning a range of [0, 1), and a unit (a user, a session) lands at a point of that interval
 * hashed from its id. Pure: the router builds an allocation whenever the registry changes and picks an
 * arm per request.
 *
 * The layout is what keeps users where they are. Arms are laid out from 0 in a stable order and the
 * baseline takes the rest, up to 1 (including any share nobody holds), so:
 * - while the shares do not change, a unit always lands in the same arm;
 * - when a launch moves share from the baseline to the candidate, the boundary between the two moves
 *   and only units between them change arm. For that the candidate sits next to the baseline: arms
 *   are ordered by role (holdout, experiment, candidate) and then by id, so a growing candidate never
 *   shifts the ranges of the holdout or the experiments before it.
 */

/** What the allocation needs of a model. */
export interface AllocationModel {
  id: string;
  role: ModelRole;
  trafficShare: number;
}

/** One arm: a model and the range [from, to) of unit points it serves. */
export interface Arm {
  modelId: string;
  role: ModelRole;
  /** The share the registry gives it (the baseline's range may be wider: it takes the remainder). */
  share: number;
  from: number;
  to: number;
}

/** A model type's arms, in layout order; the baseline's, when there is one, is last. */
export interface Allocation {
  modelType: string;
  arms: readonly Arm[];
  /** The baseline's id, where requests go when their arm has no ready replica; null without one. */
  baselineId: string | null;
  /** The hash state after `modelType/`, so hashing a unit id per request does not rehash the type. */
  seed: number;
}

/** Roles laid out before the baseline, in this order; a role missing here takes no user traffic. */
const LAYOUT_ORDER: Partial<Record<ModelRole, number>> = { holdout: 0, experiment: 1, candidate: 2 };

/**
 * The arms of a model type's live models. Shadows and retired models take no user traffic, nor does a
 * model with share 0 (except the baseline, which takes whatever the others leave). Without a baseline
 * the arms' ranges are scaled to fill [0, 1), so no unit falls into a range nobody serves.
 */
export function buildAllocation(modelType: string, models: readonly AllocationModel[]): Allocation {
  let baseline: AllocationModel | null = null;
  const others: AllocationModel[] = [];
  for (const model of models) {
    if (model.role === 'baseline') baseline = model;
    else if (LAYOUT_ORDER[model.role] !== undefined && model.trafficShare > 0) others.push(model);
  }
  others.sort((a, b) => LAYOUT_ORDER[a.role]! - LAYOUT_ORDER[b.role]! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const total = others.reduce((sum, m) => sum + m.trafficShare, 0);
  // Shares of one type sum to at most 1 (a registry invariant); scaling also guards against rounding.
  const scale = baseline ? (total > 1 ? 1 / total : 1) : total > 0 ? 1 / total : 0;
  const arms: Arm[] = [];
  let at = 0;
  for (const model of others) {
    const to = Math.min(1, at + model.trafficShare * scale);
    arms.push({ modelId: model.id, role: model.role, share: model.trafficShare, from: at, to });
    at = to;
  }
  if (baseline) arms.push({ modelId: baseline.id, role: 'baseline', share: baseline.trafficShare, from: at, to: 1 });
  else if (arms.length) arms[arms.length - 1]!.to = 1;
  return { modelType, arms, baselineId: baseline?.id ?? null, seed: typeSeed(modelType) };
}

const TWO_POW_32 = 4294967296;
/** '/' between the type and the unit id, hashed inline rather than concatenated. */
const SLASH = 0x2f;
const FNV_PRIME = 0x01000193;

/**
 * Where a unit lands in [0, 1): FNV-1a of `modelType/unitId`, finished with a murmur3 mix so that ids
 * differing only in their last characters (u1, u2, ...) spread over the whole interval. The type is
 * part of the key so that a user's arms in two types are independent.
 */
export function unitPoint(modelType: string, unitId: string): number {
  return pointFrom(typeSeed(modelType), unitId);
}

const typeSeed = (modelType: string) => Math.imul(fnv1a(modelType) ^ SLASH, FNV_PRIME);

function pointFrom(seed: number, unitId: string): number {
  let h = fnv1a(unitId, seed);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / TWO_POW_32;
}

/** The arm whose range holds `point` (in [0, 1)); null when the allocation has no arm. */
export function armAt(allocation: Allocation, point: number): Arm | null {
  const arms = allocation.arms;
  // A handful of arms per type: a linear scan beats a binary search.
  for (let i = 0; i < arms.length; i++) if (point < arms[i]!.to) return arms[i]!;
  return arms.length ? arms[arms.length - 1]! : null;
}

/** The arm a unit is in: the same one on every call while the allocation does not change. */
export function pickArm(allocation: Allocation, unitId: string): Arm | null {
  return armAt(allocation, pointFrom(allocation.seed, unitId));
}
