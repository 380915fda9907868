import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  FakeHttpService,
  type RecordedRequest,
  type ScriptedResponse,
} from '../../test/support/fake-http-service.js';
import {
  ConnectorError,
  type Connector,
  type ConnectorCall,
  type ConnectorResult,
  type JsonValue,
} from './connector.js';
import { guardConnector } from './guarded-connector.js';

/**
 * The suite every connector that talks HTTP passes against its local fake:
 * request shape, the error vocabulary (503, 400, 401/403, 429 with both
 * Retry-After forms, timeouts), idempotent replay and reconcile, input
 * validated before anything is sent, and no secret in any record.
 *
 * @example
 * describeHttpConnectorContract('slack', {
 *   create: ({ baseUrl, secret, timeoutMs }) => createSlackConnector({ … }),
 *   read: { … }, write: { … }, invalidInput: { … },
 *   expectCredential: (request, secret) =>
 *     expect(request.headers.authorization).toBe(`Bearer ${secret}`),
 *   idempotencyHeader: undefined,
 * });
 */

export interface ContractConnectorOptions {
  /** The fake's URL (`http://127.0.0.1:<port>`). */
  readonly baseUrl: string;
  /** The credential the connector must send; it must never appear in any record. */
  readonly secret: string;
  /** The per-request timeout to configure. */
  readonly timeoutMs: number;
}

/** One successful call and what must go over the wire for it. */
export interface ContractCall {
  readonly action: string;
  readonly input: JsonValue;
  /** How the fake vendor answers it. */
  readonly response: ScriptedResponse;
  readonly expectRequest: {
    readonly method: string;
    readonly path: string;
    /** Query parameters that must be present with these values. */
    readonly query?: Readonly<Record<string, string>>;
    /** The JSON body, compared exactly. */
    readonly body?: unknown;
  };
  readonly expectOutput: JsonValue;
}

export interface HttpConnectorContractSetup {
  create(options: ContractConnectorOptions): Connector | Promise<Connector>;
  /**
   * A `read` action; absent for a connector that only writes (a chat
   * webhook, a pager). Then the error mapping is checked on `write`.
   */
  readonly read?: ContractCall;
  /** A `write` action; absent for a connector that only reads (threat intel). */
  readonly write?: ContractCall;
  /** A call whose input the action's schema rejects. */
  readonly invalidInput: { readonly action: string; readonly input: JsonValue };
  /** Asserts the credential travelled where the vendor expects it. */
  expectCredential(request: RecordedRequest, secret: string): void;
  /**
   * The header carrying the idempotency key on writes, when the receiver
   * deduplicates by it; undefined when the connector cannot make writes
   * idempotent (then `reconcile` must answer `unknown`).
   */
  readonly idempotencyHeader: string | undefined;
  /**
   * Where the idempotency key travels when the vendor deduplicates by a
   * value that is not a header (PagerDuty's body `dedup_key`): it returns
   * the key found in a recorded request. Set this or `idempotencyHeader`,
   * not both; with either, writes are expected to be retried and
   * reconciled by sending them again.
   */
  readonly idempotencyKeyIn?: (request: RecordedRequest) => unknown;
  /**
   * How the credential looks on the wire when not as given (Basic auth
   * sends `base64(user:secret)`); that form must stay out of records too.
   * @default the secret itself
   */
  wireCredential?(secret: string): string;
  /**
   * For writes the vendor does not deduplicate by header but whose effect
   * can be looked up afterwards (a tag carrying the key, a search by
   * correlation id): how the fake answers the lookup when the write took
   * effect and when it did not. Without it, reconcile must answer `unknown`
   * without a request.
   */
  readonly reconcileByLookup?: {
    readonly done: {
      readonly responses: readonly ScriptedResponse[];
      readonly expectOutput: JsonValue;
    };
    readonly notDone: { readonly responses: readonly ScriptedResponse[] };
  };
}

const SECRET = 'contract-secret-5f1d0c7a9b';
/** The credential the suite passes to `create`, for vendors whose credential is in the path (Slack webhooks). */
export const CONTRACT_SECRET = SECRET;
// Generous: a loaded CI machine can take a few hundred ms to answer a first request.
const TIMEOUT_MS = 1000;

export function describeHttpConnectorContract(
  name: string,
  setup: HttpConnectorContractSetup,
): void {
  describe(`${name}: HTTP connector contract`, () => {
    let fake: FakeHttpService;
    let connector: Connector;
    const write = setup.write;
    const WIRE = setup.wireCredential?.(SECRET) ?? SECRET;
    const recorded: unknown[] = [];
    const read = setup.read;
    /** Error mapping is checked on the read, or on the write of a write-only connector. */
    const probe = read ?? write;
    if (probe === undefined) throw new Error(`${name}: the contract needs a read or a write`);
    const header = setup.idempotencyHeader?.toLowerCase();
    const keyIn =
      header !== undefined
        ? (request: RecordedRequest): unknown => request.headers[header]
        : setup.idempotencyKeyIn;
    /** Whether a timeout of the probe may be retried: reads, and writes the vendor deduplicates. */
    const probeRepeatable = read !== undefined || keyIn !== undefined;

    beforeAll(async () => {
      fake = await FakeHttpService.start();
      connector = guardConnector(
        await setup.create({ baseUrl: fake.url, secret: SECRET, timeoutMs: TIMEOUT_MS }),
      );
    });
    afterAll(async () => {
      await fake.close();
    });
    beforeEach(() => fake.reset());

    let keys = 0;
    function call(
      which: { action: string; input: JsonValue },
      overrides: Partial<ConnectorCall> = {},
    ): ConnectorCall {
      keys += 1;
      return {
        action: which.action,
        input: which.input,
        idempotencyKey: `contract-key-${keys}`,
        attempt: 1,
        signal: AbortSignal.timeout(10_000),
        ...overrides,
      };
    }
    /** Invokes and keeps whatever comes back, for the no-secret check at the end. */
    async function invoke(request: ConnectorCall): Promise<ConnectorResult> {
      try {
        const result = await connector.invoke(request);
        recorded.push(result);
        return result;
      } catch (error) {
        recorded.push(error instanceof ConnectorError ? describeError(error) : String(error));
        throw error;
      }
    }
    async function failure(request: ConnectorCall): Promise<ConnectorError> {
      const error = await invoke(request).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(ConnectorError);
      return error as ConnectorError;
    }

    function expectRequest(
      request: RecordedRequest | undefined,
      expected: ContractCall['expectRequest'],
    ): void {
      expect(request).toBeDefined();
      if (request === undefined) return;
      expect(request.method).toBe(expected.method);
      expect(request.path).toBe(expected.path);
      for (const [parameter, value] of Object.entries(expected.query ?? {})) {
        expect(request.query.get(parameter), `query ${parameter}`).toBe(value);
      }
      if (expected.body !== undefined) expect(request.json).toEqual(expected.body);
      setup.expectCredential(request, SECRET);
    }

    it('declares its actions with schemas and effects', () => {
      if (read) expect(connector.actions[read.action]?.effect).toBe('read');
      if (write) expect(connector.actions[write.action]?.effect).toBe('write');
      for (const spec of Object.values(connector.actions)) {
        expect(typeof spec.inputSchema).toBe('object');
        expect(typeof spec.outputSchema).toBe('object');
      }
      expect(connector.concurrency).toBeGreaterThanOrEqual(1);
    });

    if (read) {
      it('sends a read as the vendor expects and returns the output with the exchange', async () => {
        fake.enqueue(read.response);
        const result = await invoke(call(read));
        expect(fake.requests).toHaveLength(1);
        expectRequest(fake.requests[0], read.expectRequest);
        expect(result.output).toEqual(read.expectOutput);
        expect(result.exchange).toMatchObject({
          method: read.expectRequest.method,
          status: read.response.status ?? 200,
        });
        expect(result.exchange?.url).toContain(read.expectRequest.path.split('/').pop() ?? '');
        expect(result.exchange?.durationMs).toBeGreaterThanOrEqual(0);
        expect(JSON.stringify(result.exchange)).not.toContain(SECRET);
        expect(JSON.stringify(result.exchange)).not.toContain(WIRE);
      });
    }

    if (write) {
      it('sends a write as the vendor expects, body included', async () => {
        fake.enqueue(write.response);
        const result = await invoke(call(write));
        expectRequest(fake.requests[0], write.expectRequest);
        expect(result.output).toEqual(write.expectOutput);
        expect(result.exchange?.requestBody).toBeDefined();
      });
    }

    it('reports 503 as unavailable and retryable, with the exchange', async () => {
      fake.enqueue({ status: 503, body: { error: 'maintenance' } });
      const error = await failure(call(probe));
      expect(error).toMatchObject({ code: 'unavailable', retryable: true, status: 503 });
      expect(error.exchange?.status).toBe(503);
      expect(error.exchange?.responseBody).toContain('maintenance');
    });

    it('reports 400 as rejected and not retryable', async () => {
      fake.enqueue({ status: 400, body: { error: 'bad request' } });
      const error = await failure(call(write ?? probe));
      expect(error).toMatchObject({ code: 'rejected', retryable: false, status: 400 });
    });

    it.each([401, 403])('reports %i as unauthorized and not retryable', async (status) => {
      fake.enqueue({ status, body: { error: 'invalid credentials' } });
      const error = await failure(call(probe));
      expect(error).toMatchObject({ code: 'unauthorized', retryable: false, status });
    });

    it('reports 429 as rate_limited with Retry-After seconds in ms', async () => {
      fake.enqueue({ status: 429, headers: { 'retry-after': '2' }, body: { error: 'slow down' } });
      const error = await failure(call(probe));
      expect(error).toMatchObject({ code: 'rate_limited', retryable: true, retryAfterMs: 2000 });
    });

    it('reads a Retry-After HTTP-date', async () => {
      const at = new Date(Date.now() + 5000).toUTCString();
      fake.enqueue({ status: 429, headers: { 'retry-after': at } });
      const error = await failure(call(probe));
      expect(error.code).toBe('rate_limited');
      expect(error.retryAfterMs).toBeGreaterThan(3000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(5000);
    });

    it('times out a slow answer and aborts the request', async () => {
      fake.enqueue({ delayMs: 5000, body: {} });
      const started = performance.now();
      const error = await failure(call(probe));
      expect(error).toMatchObject({ code: 'timeout', retryable: probeRepeatable });
      expect(performance.now() - started).toBeLessThan(3000);
      await vi.waitFor(() => expect(fake.requests[0]?.aborted).toBe(true), { timeout: 2000 });
    });

    it("times out at the call's deadline", async () => {
      fake.enqueue({ delayMs: 5000, body: {} });
      const error = await failure(call(probe, { signal: AbortSignal.timeout(50) }));
      expect(error.code).toBe('timeout');
    });

    it('rejects invalid input before sending anything', async () => {
      const error = await failure(call(setup.invalidInput));
      expect(error).toMatchObject({ code: 'invalid_input', retryable: false });
      expect(fake.requests).toHaveLength(0);
    });

    it('rejects an unknown action before sending anything', async () => {
      const error = await failure(call({ action: 'no_such_action', input: {} }));
      expect(error.code).toBe('unknown_action');
      expect(fake.requests).toHaveLength(0);
    });

    if (read) {
      it('answers reconcile for a read with not_done, without a request', async () => {
        const answer = await connector.reconcile?.(call(read));
        expect(answer?.state ?? 'unknown').toBe('not_done');
        expect(fake.requests).toHaveLength(0);
      });
    }

    if (write && keyIn !== undefined) {
      it('sends the same idempotency key when a write is replayed', async () => {
        fake.enqueue(write.response, write.response, write.response);
        const first = call(write);
        await invoke(first);
        await invoke({ ...first, attempt: 2 });
        await invoke(call(write));
        const sent = fake.requests.map((request) => keyIn(request));
        expect(sent[0]).toBe(first.idempotencyKey);
        expect(sent[1]).toBe(first.idempotencyKey);
        expect(sent[2]).not.toBe(first.idempotencyKey);
      });

      it('retries a write that may have been applied, since the receiver deduplicates', async () => {
        fake.enqueue({ status: 500 });
        expect(await failure(call(write))).toMatchObject({
          code: 'unavailable',
          retryable: true,
        });
      });

      it('reconciles a write by sending it again with the same key', async () => {
        fake.enqueue(write.response);
        const original = call(write);
        const answer = await connector.reconcile?.(original);
        expect(answer?.state).toBe('done');
        if (answer?.state === 'done') expect(answer.result.output).toEqual(write.expectOutput);
        expect(keyIn(fake.requests[0] as RecordedRequest)).toBe(original.idempotencyKey);
      });
    } else if (write) {
      it('does not retry a write that may have been applied', async () => {
        fake.enqueue({ status: 500 });
        expect(await failure(call(write))).toMatchObject({
          code: 'unavailable',
          retryable: false,
        });
        fake.enqueue({ delayMs: 5000 });
        expect(await failure(call(write))).toMatchObject({
          code: 'timeout',
          retryable: false,
        });
      });

      it('still retries a write the service refused outright (503, 429)', async () => {
        fake.enqueue({ status: 503 }, { status: 429 });
        expect((await failure(call(write))).retryable).toBe(true);
        expect((await failure(call(write))).retryable).toBe(true);
      });

      const lookup = setup.reconcileByLookup;
      if (lookup === undefined) {
        it('answers reconcile for a write with unknown, without a request', async () => {
          const answer = await connector.reconcile?.(call(write));
          expect(answer?.state ?? 'unknown').toBe('unknown');
          expect(fake.requests).toHaveLength(0);
        });
      } else {
        it('reconciles a write that took effect as done, by looking it up', async () => {
          fake.enqueue(...lookup.done.responses);
          const answer = await connector.reconcile?.(call(write));
          expect(answer?.state).toBe('done');
          if (answer?.state === 'done')
            expect(answer.result.output).toEqual(lookup.done.expectOutput);
          expect(fake.requests.length).toBeGreaterThan(0);
          for (const request of fake.requests) setup.expectCredential(request, SECRET);
          recorded.push(answer);
        });

        it('reconciles a write that never arrived as not_done, by looking it up', async () => {
          fake.enqueue(...lookup.notDone.responses);
          const answer = await connector.reconcile?.(call(write));
          expect(answer?.state).toBe('not_done');
          expect(fake.requests.length).toBeGreaterThan(0);
        });

        it('answers unknown when the lookup itself fails', async () => {
          fake.enqueue({ status: 503 }, { status: 503 }, { status: 503 });
          const answer = await connector.reconcile?.(call(write));
          expect(answer?.state).toBe('unknown');
          recorded.push(answer);
        });
      }
    }

    it('keeps the secret out of exchanges and errors, even when the service echoes it', async () => {
      const echo = (request: RecordedRequest): ScriptedResponse => ({
        status: 200,
        headers: { 'x-request-id': 'echo', 'retry-after': '1' },
        body: {
          headers: request.headers,
          url: request.path,
          query: request.query.toString(),
          body: request.body,
        },
      });
      fake.enqueue((request) => ({ ...echo(request), status: 401 }));
      const error = await failure(call(probe));
      for (const form of [SECRET, WIRE]) {
        expect(error.message).not.toContain(form);
        expect(JSON.stringify(error.exchange)).not.toContain(form);
        expect(String(error.stack)).not.toContain(form);
      }

      fake.enqueue((request) => ({ ...echo(request), status: 200 }));
      await invoke(call(probe)).catch(() => undefined);
      // The request did carry it: the redaction is in the record, not the wire.
      // In a header, the path or the body: expectCredential knows where.
      for (const request of fake.requests) setup.expectCredential(request, SECRET);
    });

    it('never recorded the secret in any result or error of this suite', () => {
      expect(recorded.length).toBeGreaterThan(5);
      expect(JSON.stringify(recorded)).not.toContain(SECRET);
      expect(JSON.stringify(recorded)).not.toContain(WIRE);
    });
  });
}

function describeError(error: ConnectorError): unknown {
  return { code: error.code, message: error.message, exchange: error.exchange, stack: error.stack };
}
