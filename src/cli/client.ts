import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** An API error as the server sent it, for the CLI to print and exit non-zero. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Array<{ path: string; message: string }>,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  server?: string | undefined;
  token?: string | undefined;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** Token from the flag, the environment, or (for a local server) the admin token file the first start wrote. */
export function resolveToken(token: string | undefined): string | undefined {
  if (token) return token;
  if (process.env['MODELFLEET_TOKEN']) return process.env['MODELFLEET_TOKEN'];
  const file = resolve('.modelfleet', 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** A thin client of the HTTP API for the CLI; errors come back as `ApiError` with the server's details. */
export class ApiClient {
  readonly server: string;
  private readonly token: string | undefined;

  constructor(options: ClientOptions = {}) {
    this.server = (options.server ?? process.env['MODELFLEET_SERVER'] ?? DEFAULT_SERVER).replace(/\/+$/, '');
    this.token = resolveToken(options.token);
  }

  async request<T>(
    method: string,
    path: string,
    options: { body?: unknown; raw?: string; headers?: Record<string, string>; contentType?: string } = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    let body: string | undefined;
    if (options.raw !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/x-ndjson';
      body = options.raw;
    } else if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await fetch(`${this.server}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    } catch (error) {
      throw new ApiError(0, 'unreachable', `cannot reach ${this.server}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}. Start it with 'modelfleet serve' or pass --server`, []);
    }
    const text = await response.text();
    const parsed = text ? safeJson(text) : null;
    if (!response.ok) {
      const error = (parsed as { error?: { code: string; message: string; details?: Array<{ path: string; message: string }> } } | null)?.error;
      const hint = response.status === 401 ? ' (pass --token or set MODELFLEET_TOKEN)' : '';
      throw new ApiError(response.status, error?.code ?? String(response.status), `${error?.message ?? text.slice(0, 500)}${hint}`, error?.details ?? []);
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  /** Follows cursor pages to the end. */
  async listAll<T>(path: string, query: Record<string, string | undefined> = {}, onPage?: (count: number) => void): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const params = new URLSearchParams({ ...definedOnly(query), limit: '1000', ...(cursor ? { cursor } : {}) });
      const page: { body: { items: T[]; nextCursor: string | null } } = await this.request('GET', `${path}?${params}`);
      items.push(...page.body.items);
      cursor = page.body.nextCursor;
      onPage?.(items.length);
    } while (cursor);
    return items;
  }
}

export function definedOnly(query: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
