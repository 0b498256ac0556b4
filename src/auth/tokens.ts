import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Role } from '../registry/vocabulary.js';
import { TeamNameSchema } from '../registry/fields.js';

/** Tokens carry 256 random bits, so one SHA-256 is enough at rest; no slow hash is needed to resist guessing. */
export const TOKEN_PREFIX = 'mf_';

export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export const newTokenId = (): string => randomUUID();

export const TokenInputSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._@-]{0,62}$/, 'lower-case letters, digits and . _ @ -'),
    role: z.enum(Role),
    team: TeamNameSchema.nullable().default(null),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.role === 'member' && !value.team) ctx.addIssue({ code: 'custom', path: ['team'], message: 'a member token needs the team it belongs to' });
    if (value.role !== 'member' && value.team) ctx.addIssue({ code: 'custom', path: ['team'], message: `only member tokens belong to a team; drop team for role ${value.role}` });
  });
export type TokenInput = z.output<typeof TokenInputSchema>;

/** What the API shows of a token: never the secret, never the hash. */
export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  team: string | null;
  createdAt: string;
  revokedAt: string | null;
}
