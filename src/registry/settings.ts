import { z } from 'zod';

const token = z.string().regex(/^[a-z0-9]+$/, 'must be lower-case letters and digits');

/** Registry-wide settings an admin can change; the vocabularies model type names are checked against. */
export const RegistrySettingsSchema = z
  .object({
    apps: z.array(token).min(1),
    architectures: z.array(token).min(1),
  })
  .strict();
export type RegistrySettings = z.infer<typeof RegistrySettingsSchema>;

export const defaultRegistrySettings: RegistrySettings = {
  apps: ['ig', 'fb', 'wa', 'threads', 'msgr'],
  architectures: ['mtml', 'mtl', 'dlrm', 'twotower', 'gbdt', 'lr', 'dnn', 'dcn', 'moe', 'transformer'],
};
