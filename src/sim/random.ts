/**
 * A small seeded PRNG so simulations are reproducible: the same seed gives the same fleet, traffic and
 * benchmark input on every machine. Never use Math.random in `sim/`.
 */

/** mulberry32: 32-bit state, fast and good enough for synthetic data (not for anything secret). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Convenience draws over a seeded source. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** Uniform in [min, max). */
  float(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element, uniformly. Throws on an empty list. */
  pick<T>(items: readonly T[]): T;
  /** One value, with probability proportional to its weight. Throws when no weight is positive. */
  weighted<T>(items: readonly (readonly [T, number])[]): T;
  /** k distinct elements in random order (all of them when k >= length). */
  sample<T>(items: readonly T[], k: number): T[];
}

/** A seeded Rng; fractional or negative seeds are folded into 32 bits. */
export function createRng(seed: number): Rng {
  const next = mulberry32(Math.trunc(seed));
  const rng: Rng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    float: (min, max) => min + next() * (max - min),
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('cannot pick from an empty list');
      return items[Math.floor(next() * items.length)] as T;
    },
    weighted<T>(items: readonly (readonly [T, number])[]): T {
      let total = 0;
      for (const [, weight] of items) total += Math.max(0, weight);
      if (total <= 0) throw new RangeError('weighted pick needs at least one positive weight');
      let roll = next() * total;
      for (const [value, weight] of items) {
        if (weight <= 0) continue;
        roll -= weight;
        if (roll < 0) return value;
      }
      // Rounding can leave roll at a hair above 0 after the last item; the last positive weight wins.
      for (let i = items.length - 1; i >= 0; i--) {
        const item = items[i] as readonly [T, number];
        if (item[1] > 0) return item[0];
      }
      throw new RangeError('unreachable');
    },
    sample<T>(items: readonly T[], k: number): T[] {
      const copy = items.slice();
      const n = Math.min(Math.max(0, k), copy.length);
      // Partial Fisher-Yates: only the first n positions need shuffling.
      for (let i = 0; i < n; i++) {
        const j = i + Math.floor(next() * (copy.length - i));
        const tmp = copy[i] as T;
        copy[i] = copy[j] as T;
        copy[j] = tmp;
      }
      return copy.slice(0, n);
    },
  };
  return rng;
}
