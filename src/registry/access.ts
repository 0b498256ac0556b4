import { forbidden } from '../core/errors.js';
import type { Actor } from './actor.js';
import { ADMIN_ONLY_TEAM_FIELDS, type TeamSpec } from './team.js';

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

/**
 * Creating or deleting teams is an admin's job; members may edit their own team's description and
 * rotation, but not its quota or launch policy: those bound what the team may launch on its own.
 */
export function assertCanWriteTeam(actor: Actor, team: string, before: TeamSpec | null, after: TeamSpec | null): void {
  if (before === null || after === null) return assertAdmin(actor, `${before === null ? 'creating' : 'deleting'} team '${team}'`);
  assertCanWriteOwned(actor, `team '${team}'`, team, team);
  if (actor.role === 'admin') return;
  const changed = ADMIN_ONLY_TEAM_FIELDS.filter((field) => before[field] !== after[field]);
  if (!changed.length) return;
  const shown = (value: unknown) => JSON.stringify(value);
  throw forbidden(
    `changing the ${changed.join(' and ')} of team '${team}' needs a platform admin's token; token '${actor.name}' has role ${actor.role}: ask a platform admin, or leave ${changed.length > 1 ? 'these fields' : 'the field'} as ${changed.map((f) => `${f}: ${shown(before[f])}`).join(', ')} (a PATCH may simply omit ${changed.length > 1 ? 'them' : 'it'})`,
    changed.map((field) => ({
      path: field,
      message: `only a platform admin changes a team's ${field}, and token '${actor.name}' has role ${actor.role}: it is ${shown(before[field])} and this write makes it ${shown(after[field])}; ask a platform admin, or keep ${field}: ${shown(before[field])} (a PATCH may simply omit it)`,
    })),
  );
}
