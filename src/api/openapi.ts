import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from './auth.js';

/**
 * Names a schema as an OpenAPI component (zod's own `meta({ id })`), so the document refers to it
 * instead of repeating it. Call once per name, at module load.
 */
export const named = <S extends z.ZodType>(schema: S, name: string): S => schema.meta({ id: name }) as S;

export const ErrorBodySchema = named(
  z.object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })),
    }),
  }),
  'Error',
);

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteSpec {
  method: Method;
  /** OpenAPI-style path under /api/v1, e.g. `/models/{id}`. */
  path: string;
  summary: string;
  tag: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  bodyContentType?: string;
  responses: Partial<Record<200 | 201 | 202 | 204, { description: string; schema?: z.ZodType }>>;
  /** Whether the route needs If-Match (documented as a header). */
  ifMatch?: 'required' | 'optional';
  /** The route may answer 503 with Retry-After (a dependency such as the event stream is unavailable). */
  mayBeUnavailable?: boolean;
}

/** Routes are declared once with their zod schemas; the OpenAPI document is generated from the same declarations. */
export class ApiRoutes {
  readonly registry = new OpenAPIRegistry();

  constructor(private readonly app: Hono<AppEnv>) {
    this.registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  }

  add(spec: RouteSpec, handler: (c: Context<AppEnv>) => Promise<Response> | Response): void {
    const honoPath = `/api/v1${spec.path.replace(/\{(\w+)\}/g, ':$1')}`;
    this.app.on(spec.method.toUpperCase(), honoPath, handler);
    const errorResponse = { description: 'error', content: { 'application/json': { schema: ErrorBodySchema } } };
    const headers = spec.ifMatch
      ? z.object({ 'if-match': spec.ifMatch === 'required' ? z.string().describe('the ETag last read') : z.string().optional() })
      : undefined;
    this.registry.registerPath({
      method: spec.method,
      path: `/api/v1${spec.path}`,
      summary: spec.summary,
      tags: [spec.tag],
      security: [{ bearer: [] }],
      request: {
        ...(spec.params ? { params: spec.params } : {}),
        ...(spec.query ? { query: spec.query } : {}),
        ...(headers ? { headers } : {}),
        ...(spec.body ? { body: { required: true, content: { [spec.bodyContentType ?? 'application/json']: { schema: spec.body } } } } : {}),
      },
      responses: {
        ...Object.fromEntries(
          Object.entries(spec.responses).map(([status, r]) => [
            status,
            { description: r!.description, ...(r!.schema ? { content: { 'application/json': { schema: r!.schema } } } : {}) },
          ]),
        ),
        400: errorResponse,
        401: errorResponse,
        403: errorResponse,
        404: errorResponse,
        409: errorResponse,
        ...(spec.ifMatch ? { 412: errorResponse, 428: errorResponse } : {}),
        413: errorResponse,
        ...(spec.mayBeUnavailable ? { 503: { ...errorResponse, description: `${errorResponse.description}; retry after the Retry-After header's seconds` } } : {}),
      },
    });
  }

  document(): object {
    return new OpenApiGeneratorV31(this.registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'modelfleet',
        version: '1',
        description: 'The registry, launches and stability of a fleet of ranking models. Errors always have the shape of the Error schema.',
      },
      servers: [{ url: '/' }],
    });
  }
}
