import type { Actor } from './actor.js';

/**
 * Whether `actor` may change what team `owner` owns: admins anything, a member its own team's. Kept
 * free of imports so the console can use the same rule to show or hide write actions.
 */
export function canWriteOwned(actor: Pick<Actor, 'role' | 'team'>, owner: string | null): boolean {
  return actor.role === 'admin' || (actor.role === 'member' && actor.team !== null && owner !== null && owner === actor.team);
}
