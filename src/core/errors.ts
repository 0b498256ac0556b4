/**
 * Domain errors as data. Every module raises one of these codes; the HTTP edge maps each code to a
 * status in exactly one place (`api/errorResponse.ts`), and the CLI prints the same shape.
 */
export const ErrorCode = {
  invalid_input: 'invalid_input',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  not_found: 'not_found',
  conflict: 'conflict',
  precondition_failed: 'precondition_failed',
  precondition_required: 'precondition_required',
  payload_too_large: 'payload_too_large',
  unavailable: 'unavailable',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One problem at one place: `path` is a JSON Pointer-like dotted path, or `file:line` for files. */
export interface ErrorDetail {
  path: string;
  message: string;
}

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details: ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export const invalidInput = (message: string, details: ErrorDetail[] = []) =>
  new DomainError('invalid_input', message, details);
export const notFound = (message: string, details: ErrorDetail[] = []) =>
  new DomainError('not_found', message, details);
export const conflict = (message: string, details: ErrorDetail[] = []) =>
  new DomainError('conflict', message, details);
export const forbidden = (message: string, details: ErrorDetail[] = []) =>
  new DomainError('forbidden', message, details);
export const unauthorized = (message: string) => new DomainError('unauthorized', message);
export const preconditionFailed = (message: string) => new DomainError('precondition_failed', message);
export const preconditionRequired = (message: string) => new DomainError('precondition_required', message);
export const payloadTooLarge = (message: string) => new DomainError('payload_too_large', message);

/**
 * The server cannot take the request now but will soon (a dependency is down or behind): nothing was
 * changed, and the client should retry after `retryAfterSeconds` (sent as `Retry-After`).
 */
export class UnavailableError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('unavailable', message);
  }
}

export const unavailable = (message: string, retryAfterSeconds: number) => new UnavailableError(message, retryAfterSeconds);

export const isDomainError = (value: unknown): value is DomainError => value instanceof DomainError;
