import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

/**
 * One vendor API as the demo serves it (MLflow, PagerDuty, an OpenC2
 * consumer, …): a stateful stand-in that follows the vendor's public
 * request and response shapes under a path prefix, so the demo's
 * connectors.yaml points `base_url` at `http://127.0.0.1:8089/<prefix>`.
 * `startDemoServices` asks each fake in turn; the first answer wins.
 */

export interface FakeRequest {
  readonly method: string;
  /** The path without the query, e.g. `/mlflow/api/2.0/mlflow/registered-models/get`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The raw body text ('' when none). */
  readonly text: string;
}

export interface FakeReply {
  readonly status: number;
  /** Sent as JSON, or as-is when a string with `contentType` set. */
  readonly body: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Records what a fake did, for the demo's log and `GET /` (e.g. "mlflow", "moved alias", "fraud-scorer@champion"). */
export type RecordAction = (
  service: string,
  action: string,
  target: string,
  details: unknown,
) => void;

export interface VendorFake {
  /** Its prefix, for the index page, e.g. `/mlflow`. */
  readonly prefix: string;
  /** What it stands in for, one line. */
  readonly description: string;
  /** Answers a request under its prefix, or undefined for "not mine". */
  handle(request: FakeRequest): FakeReply | undefined | Promise<FakeReply | undefined>;
}

export type VendorFakeFactory = (record: RecordAction) => VendorFake;

/** Writes a fake's reply: JSON, or a string body as is when it names its `contentType`. */
export function sendFakeReply(response: ServerResponse, reply: FakeReply): void {
  response.writeHead(reply.status, {
    'content-type': reply.contentType ?? 'application/json',
    ...reply.headers,
  });
  response.end(
    typeof reply.body === 'string' && reply.contentType !== undefined
      ? reply.body
      : JSON.stringify(reply.body),
  );
}
