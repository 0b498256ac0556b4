import { z } from 'zod';

/** Field schemas shared by several registry entries. */

export const TagsSchema = z
  .array(z.string().regex(/^[a-z0-9][a-z0-9._:/-]{0,62}$/, 'tags are lower-case, start with a letter or digit, up to 63 characters'))
  .max(64)
  .refine((tags) => new Set(tags).size === tags.length, 'tags must not repeat');

/** Team-defined attributes, validated against the registered extension schemas. */
export const ExtendedSchema = z.record(z.string(), z.unknown());

export const TeamNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'team names are lower-case letters, digits and dashes, up to 63 characters');

/** Metadata every stored entry carries; the server sets it, writers never send it. */
export const EntryMetaShape = {
  version: z.number().int().positive(),
  createdAt: z.string(),
  updatedAt: z.string(),
};
