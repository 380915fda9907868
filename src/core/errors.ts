/**
 * Every error Warden raises on purpose. `code` is stable (clients match on it),
 * `status` is the HTTP status the one error mapper answers with, `field` names
 * the offending input where there is one.
 */
export type ErrorCode =
  | 'malformed_json'
  | 'unknown_source_format'
  | 'undetected_source_format'
  | 'missing_field'
  | 'invalid_field'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'empty_body'
  | 'not_found'
  | 'route_not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'case_closed'
  | 'conflict'
  | 'invalid_config'
  | 'invalid_playbook'
  | 'expression_failed'
  | 'store_unavailable'
  | 'audit_chain_broken'
  | 'internal';

export interface WardenErrorOptions {
  status?: number;
  field?: string;
  retryable?: boolean;
  details?: Record<string, unknown>;
  cause?: unknown;
}

const DEFAULT_STATUS: Record<ErrorCode, number> = {
  malformed_json: 400,
  unknown_source_format: 400,
  undetected_source_format: 422,
  missing_field: 422,
  invalid_field: 422,
  body_too_large: 413,
  unsupported_media_type: 415,
  empty_body: 400,
  not_found: 404,
  route_not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  case_closed: 409,
  conflict: 409,
  invalid_config: 500,
  invalid_playbook: 422,
  expression_failed: 422,
  store_unavailable: 503,
  audit_chain_broken: 500,
  internal: 500,
};

export class WardenError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: WardenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WardenError';
    this.code = code;
    this.status = options.status ?? DEFAULT_STATUS[code];
    this.field = options.field;
    this.retryable = options.retryable ?? code === 'store_unavailable';
    this.details = options.details;
  }
}

export function missingField(field: string, where = 'alert'): WardenError {
  return new WardenError('missing_field', `${where}: required field "${field}" is missing`, {
    field,
  });
}

export function invalidField(field: string, problem: string, where = 'alert'): WardenError {
  return new WardenError('invalid_field', `${where}: field "${field}" ${problem}`, { field });
}
