import { forbidden } from '../core/errors.js';
import type { Actor } from './actor.js';

/**
 * Who may write what. Admins write everything; a team member writes its own team and the model types
 * and models that team owns, and cannot hand them to another team; viewers and ingest tokens never
 * write the registry.
 */
export function assertCanWriteOwned(actor: Actor, what: string, ownerBefore: string | null, ownerAfter: string | null): void {
  if (actor.role === 'admin') return;
  if (actor.role !== 'member' || !actor.team) {
    throw forbidden(`token '${actor.name}' has role ${actor.role}, which cannot change the registry; use a team member's or an admin's token`);
  }
  for (const owner of [ownerBefore, ownerAfter]) {
    if (owner !== null && owner !== actor.team) {
      throw forbidden(
        `${what} belongs to team '${owner}', but token '${actor.name}' is a member of team '${actor.team}': ask a member of '${owner}' or an admin`,
      );
    }
  }
}

export function assertAdmin(actor: Actor, what: string): void {
  if (actor.role !== 'admin') {
    throw forbidden(`${what} needs a platform admin's token; token '${actor.name}' has role ${actor.role}`);
  }
}

/** Creating or deleting teams is an admin's job; members may edit their own team's description and rotation. */
export function assertCanWriteTeam(actor: Actor, team: string, action: 'create' | 'update' | 'delete'): void {
  if (action === 'update') return assertCanWriteOwned(actor, `team '${team}'`, team, team);
  assertAdmin(actor, `${action === 'create' ? 'creating' : 'deleting'} team '${team}'`);
}
