import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import {
  ConnectorError,
  type Connector,
  type ConnectorCall,
  type ConnectorResult,
  type JsonValue,
} from '../../src/connectors/connector.js';
import type { ConnectorTypeDefinition } from '../../src/connectors/connector-config-reader.js';
import {
  BUILTIN_CONNECTORS,
  loadConnectors,
  type ConnectorRegistry,
} from '../../src/connectors/connector-config.js';
import { staticSecretSource } from '../../src/connectors/secrets.js';
import { WardenError } from '../../src/core/errors.js';
import { InventoryIndex, emptyInventory } from '../../src/core/inventory.js';
import { FakeHttpService } from './fake-http-service.js';

/**
 * What the connector tests (src/connectors/<vendor>/, src/demo/fakes/,
 * test/conformance/) share: loading instances from connectors.yaml text as
 * production does, building calls, catching a connector's error, and a
 * FakeHttpService per suite. Vendor fakes on a server are in
 * vendor-fake-server.ts, docs examples in doc-examples.ts, the ../shared
 * fixtures in shared-fixtures.ts.
 */

// ---------------------------------------------------------------------------
// Loading connectors.yaml

export interface YamlLoadOptions {
  /** Values for the `${secret:NAME}` references. @default {} */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Connector types besides the shipped ones (the vendor's `*_CONNECTOR_TYPE`). */
  readonly types?: readonly ConnectorTypeDefinition[];
  /**
   * Write connectors.yaml into this folder and leave it there, for YAML that
   * names files beside it; by default a temporary folder, removed once loaded.
   */
  readonly dir?: string;
}

/**
 * Every instance `yaml` (a whole connectors.yaml) configures, plus the
 * built-in `log` and `inventory`, loaded by `loadConnectors` as production
 * loads them (an empty inventory, a log sink that drops lines). Throws as
 * `loadConnectors` does on a refused configuration (see `configError`).
 */
export function loadConnectorsFromYaml(
  yaml: string,
  options: YamlLoadOptions = {},
): ConnectorRegistry {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'warden-connectors-'));
  try {
    writeFileSync(join(dir, 'connectors.yaml'), yaml);
    return loadConnectors(dir, {
      secrets: staticSecretSource(options.secrets ?? {}),
      inventory: new InventoryIndex(emptyInventory()),
      logSink: { write: () => undefined },
      types: options.types,
    });
  } finally {
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One instance from connectors.yaml text: the one called `name`, or by
 * default the first one the file configures (not `log` or `inventory`).
 */
export function loadConnectorFromYaml(
  yaml: string,
  options: YamlLoadOptions & { readonly name?: string } = {},
): Connector {
  const registry = loadConnectorsFromYaml(yaml, options);
  const builtIn: readonly string[] = BUILTIN_CONNECTORS;
  const name = options.name ?? registry.names().find((candidate) => !builtIn.includes(candidate));
  return registry.get(name ?? '');
}

/**
 * `${secret:NAME}` values for the names given, each a placeholder: for
 * examples that only need their references to resolve.
 */
export function placeholderSecrets(names: readonly string[], value = 'x'): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, value]));
}

/**
 * Runs `load`, which must refuse its configuration with a WardenError
 * (`invalid_config`, with `file:line:column: connectors.<name>.<field> …`),
 * and returns that error; any other error is rethrown, and loading
 * successfully fails the test.
 */
export function configError(load: () => unknown): WardenError {
  try {
    load();
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected the configuration to be refused with an invalid_config error');
}

// ---------------------------------------------------------------------------
// Calls and their outcomes

/**
 * A call as the playbook runner makes it: first attempt, with a signal that
 * aborts after 10 s; `overrides` replace any part (e.g. `attempt`, `signal`).
 */
export function connectorCall(
  action: string,
  input: JsonValue,
  idempotencyKey: string,
  overrides: Partial<ConnectorCall> = {},
): ConnectorCall {
  return {
    action,
    input,
    idempotencyKey,
    attempt: 1,
    signal: AbortSignal.timeout(10_000),
    ...overrides,
  };
}

/** Builds a call to `action` with `input`; `overrides` replace any part, e.g. the key. */
export type CallMaker = (
  action: string,
  input: JsonValue,
  overrides?: Partial<ConnectorCall>,
) => ConnectorCall;

/**
 * Calls with a fresh idempotency key each, `${keyPrefix}1`, `${keyPrefix}2`,
 * … (as different step runs have), unless `overrides.idempotencyKey` gives
 * one (an undefined one counts as not given); each call's signal aborts
 * after `timeoutMs` (default 10 s).
 */
export function numberedCalls(
  keyPrefix: string,
  options: { readonly timeoutMs?: number } = {},
): CallMaker {
  let count = 0;
  return (action, input, { idempotencyKey, ...overrides } = {}) => {
    count += 1;
    return connectorCall(action, input, idempotencyKey ?? `${keyPrefix}${count}`, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      ...overrides,
    });
  };
}

/**
 * What `promise` (a connector's invoke or reconcile) rejects with, which must
 * be a ConnectorError: resolving, or rejecting with anything else, fails the
 * test.
 */
export async function connectorFailure(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}

/**
 * Invokes `connector` and keeps what came back in `recorded`: the result,
 * or the error's code, message, exchange and stack (then rethrows it); for a
 * suite's last check that no secret appears in anything a connector returned.
 */
export async function invokeAndRecord(
  recorded: unknown[],
  connector: Connector,
  call: ConnectorCall,
): Promise<ConnectorResult> {
  try {
    const result = await connector.invoke(call);
    recorded.push(result);
    return result;
  } catch (error) {
    recorded.push(
      error instanceof ConnectorError
        ? { code: error.code, message: error.message, exchange: error.exchange, stack: error.stack }
        : String(error),
    );
    throw error;
  }
}

/** The `Authorization` header value of HTTP Basic authentication. */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

// ---------------------------------------------------------------------------
// A scripted vendor per suite

/**
 * A FakeHttpService for the enclosing `describe` (or file), in place of
 * starting, resetting and closing one by hand: it listens from a `beforeAll`
 * hook (so hooks registered after this call can read `url`), is emptied
 * before each test unless `resetBeforeEach` is false, and closes after the
 * suite.
 */
export function fakeHttpServiceForSuite(
  options: { readonly resetBeforeEach?: boolean } = {},
): FakeHttpService {
  const fake = FakeHttpService.create();
  beforeAll(() => fake.listen());
  afterAll(() => fake.close());
  if (options.resetBeforeEach ?? true) beforeEach(() => fake.reset());
  return fake;
}
