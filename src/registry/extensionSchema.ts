import { z } from 'zod';
import { EntryMetaShape, TeamNameSchema } from './fields.js';

export const ExtensionTarget = ['modelType', 'model'] as const;
export type ExtensionTarget = (typeof ExtensionTarget)[number];

/** A JSON Schema an admin registers for the `extended` attributes of model types or models. */
export const ExtensionSchemaInputSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ and -'),
    appliesTo: z.enum(ExtensionTarget),
    team: TeamNameSchema.nullable().default(null).describe('null applies to every team'),
    description: z.string().max(2000).default(''),
    schema: z.record(z.string(), z.unknown()).describe('a JSON Schema (draft 2020-12 subset supported by ajv)'),
  })
  .strict();
export type ExtensionSchemaSpec = z.output<typeof ExtensionSchemaInputSchema>;

export const ExtensionSchemaSchema = ExtensionSchemaInputSchema.extend(EntryMetaShape);
export type ExtensionSchema = z.infer<typeof ExtensionSchemaSchema>;
