import type { Role } from './vocabulary.js';

/** Who is asking: resolved from a bearer token at the edge, passed into every registry operation. */
export interface Actor {
  /** The token's name, recorded as the actor of every change it makes. */
  name: string;
  role: Role;
  /** The team a member token belongs to; null for the other roles. */
  team: string | null;
}

export const systemActor: Actor = { name: 'system', role: 'admin', team: null };
