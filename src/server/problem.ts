import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { WardenError } from '../core/errors.js';

/** RFC 9457 problem details, with Warden's stable `code` and the offending `field`. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  field?: string;
  retryable?: boolean;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function isFastifyError(error: unknown): error is FastifyError {
  return error instanceof Error && typeof (error as FastifyError).code === 'string';
}

/** Fastify's own errors (body parsing, limits) in Warden's vocabulary. */
function fromFastify(error: FastifyError, bodyLimit: number): WardenError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new WardenError(
        'body_too_large',
        `request body exceeds the limit of ${bodyLimit} bytes`,
        {
          details: { limitBytes: bodyLimit },
        },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new WardenError(
        'unsupported_media_type',
        'content type not supported: send application/json or application/x-ndjson',
        { field: 'content-type' },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new WardenError('empty_body', 'request body is empty');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new WardenError('invalid_field', 'Content-Length does not match the body', {
        field: 'content-length',
        status: 400,
      });
    default:
      if (error.statusCode && error.statusCode < 500) {
        return new WardenError('invalid_field', error.message, { status: error.statusCode });
      }
      return new WardenError('internal', 'internal error', { cause: error });
  }
}

export function toWardenError(error: unknown, bodyLimit: number): WardenError {
  if (error instanceof WardenError) return error;
  if (isFastifyError(error)) return fromFastify(error, bodyLimit);
  return new WardenError('internal', 'internal error', { cause: error });
}

export function problemOf(error: WardenError, instance?: string): ProblemDetails {
  return {
    type: `https://warden.dev/problems/${error.code.replace(/_/g, '-')}`,
    title: TITLES[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(instance ? { instance } : {}),
    ...(error.field ? { field: error.field } : {}),
    ...(error.retryable ? { retryable: true } : {}),
    ...(error.details ?? {}),
  };
}

/** The one place errors become HTTP responses. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  bodyLimit: number,
): FastifyReply {
  const wardenError = toWardenError(error, bodyLimit);
  if (wardenError.status >= 500) {
    request.log.error({ err: wardenError.cause ?? wardenError }, wardenError.message);
  }
  if (wardenError.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="warden"');
  return reply
    .code(wardenError.status)
    .type('application/problem+json')
    .send(problemOf(wardenError, request.url.split('?')[0]));
}
