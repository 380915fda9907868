import type { JsonValue } from '../connector.js';
import type { AuthorizationHeader } from './http-credentials.js';
import {
  sendHttpRequest,
  statusError,
  type HttpExchangeOptions,
  type HttpResponse,
} from './http-exchange.js';

/**
 * One call to a vendor's JSON REST API (Jira, ServiceNow): `Accept:
 * application/json`, the body sent as JSON, the `Authorization` header
 * recorded as written, and a failed status mapped like any HTTP failure
 * (`statusError`) but with the vendor's own error text in the message.
 */

export interface JsonApiRequest {
  readonly method: string;
  readonly url: URL;
  readonly authorization: Pick<AuthorizationHeader, 'value' | 'recorded'>;
  /** Sent as JSON; absent: no body. */
  readonly body?: JsonValue;
}

export interface JsonApiOptions extends Omit<HttpExchangeOptions, 'accept'> {
  /**
   * The vendor's error body as one line, from the recorded (redacted) text;
   * any other body as it is.
   */
  readonly errorText: (recordedBody: string) => string;
}

/** Resolves for a 2xx answer (its body not parsed); rejects with a mapped `ConnectorError`. */
export async function sendJsonApiRequest(
  request: JsonApiRequest,
  options: JsonApiOptions,
): Promise<HttpResponse> {
  const { errorText, ...exchangeOptions } = options;
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Authorization: request.authorization.value,
  };
  if (request.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await sendHttpRequest(
    {
      method: request.method,
      url: request.url,
      headers,
      recordedHeaders: { Authorization: request.authorization.recorded },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    },
    // Every status is read here, so the vendor's own error text goes into the message.
    { ...exchangeOptions, accept: () => true },
  );
  if (response.status < 200 || response.status >= 300) {
    throw statusError(
      response.status,
      response.headers,
      errorText(response.exchange.responseBody ?? ''),
      response.exchange,
      exchangeOptions,
    );
  }
  return response;
}

/** `text` parsed as JSON; undefined when it is not JSON (an empty body included). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `text` parsed as a JSON object; undefined when it is anything else. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const parsed = parseJson(text);
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}
