import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { invalidInput } from '../core/errors.js';
import { zodDetails } from '../core/zodIssues.js';
import type { KubernetesExecutorOptions } from './kubernetesExecutor.js';

/** `modelfleet serve --kubernetes-config FILE`: where launches on the `kubernetes` executor run. */
export const KubernetesConfigSchema = z
  .object({
    server: z.url().describe('the API server, e.g. https://kubernetes.default.svc'),
    tokenFile: z.string().min(1).optional().describe('file holding the bearer token (in a pod: /var/run/secrets/kubernetes.io/serviceaccount/token)'),
    caFile: z.string().min(1).optional().describe("PEM file of the authority that signed the API server's certificate"),
    namespace: z.string().min(1).max(63),
    image: z.string().min(1).describe('an image with the modelfleet CLI'),
    command: z.array(z.string().min(1)).min(1).optional().describe("how the image runs the CLI; default ['modelfleet']"),
    gateway: z.object({ name: z.string().min(1), namespace: z.string().min(1).optional(), sectionName: z.string().min(1).optional() }).strict(),
    port: z.number().int().min(1).max(65535).optional(),
    size: z.enum(['small', 'medium', 'large']).optional(),
    resources: z.object({ requests: z.record(z.string(), z.string()).optional(), limits: z.record(z.string(), z.string()).optional() }).strict().optional(),
  })
  .strict();

/** Reads and checks a Kubernetes config file; relative token and CA paths are read next to it. */
export function loadKubernetesConfig(file: string): KubernetesExecutorOptions {
  let value: unknown;
  try {
    value = parse(readFileSync(file, 'utf8')) ?? {};
  } catch (error) {
    throw invalidInput(`cannot read Kubernetes config ${file}: ${(error as Error).message}`);
  }
  const parsed = KubernetesConfigSchema.safeParse(value);
  if (!parsed.success) {
    const details = zodDetails(parsed.error, { schema: KubernetesConfigSchema, input: value }).map((d) => ({ path: `${file}: ${d.path}`, message: d.message }));
    throw invalidInput(`Kubernetes config ${file} is invalid (${details.length} problem${details.length === 1 ? '' : 's'}); fix each and restart`, details);
  }
  const { tokenFile, caFile, ...rest } = parsed.data;
  const read = (what: string, path: string) => {
    try {
      return readFileSync(resolve(dirname(file), path), 'utf8').trim();
    } catch (error) {
      throw invalidInput(`${file}: ${what} ${path} cannot be read: ${(error as Error).message}`);
    }
  };
  return {
    ...rest,
    ...(tokenFile ? { token: read('tokenFile', tokenFile) } : {}),
    ...(caFile ? { ca: read('caFile', caFile) } : {}),
  };
}
