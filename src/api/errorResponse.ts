import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DomainError, type ErrorCode } from '../core/errors.js';

/** The one place domain error codes become HTTP statuses; a new code fails to compile until mapped. */
export const statusOf: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  precondition_required: 428,
  unavailable: 503,
};

export function errorBody(error: unknown): { status: ContentfulStatusCode; body: ReturnType<DomainError['toJSON']> } {
  if (error instanceof DomainError) return { status: statusOf[error.code], body: error.toJSON() };
  return {
    status: 500,
    body: { error: { code: 'internal' as ErrorCode, message: 'internal error; the server log has the details', details: [] } },
  };
}
