import type { Fields } from '../../config/yaml-source.js';
import type {
  ActionEffect,
  Connector,
  ConnectorActionSpec,
  ConnectorCall,
  ConnectorResult,
  JsonSchema,
  JsonValue,
  RateLimit,
  Reconciliation,
} from '../connector.js';
import type { ConnectorConfigReader, ConnectorTypeDefinition } from '../connector-config-reader.js';
import {
  createHttpConnector,
  type HttpActionConfig,
  type HttpMethod,
  type HttpOutputField,
} from '../http/http-connector.js';
import {
  HEADER_NAME,
  HTTP_INSTANCE_KEYS,
  readHttpInstance,
  type HttpInstance,
} from '../http/http-connector-config.js';

/** The HTTP instance settings every preset reads (see http-connector-config.ts). */
export { readHttpInstance, type HttpInstance } from '../http/http-connector-config.js';

/**
 * HTTP presets: connector types that are the generic `http` connector with
 * the actions already written, for services whose API the company builds to
 * a contract Warden documents (docs/connectors/presets.md). The instance
 * config is only where the service is and how to authenticate; `paths:`
 * may move an action to another path when the platform already has one.
 */

/** One preset action: an `HttpActionConfig` with a precise output schema. */
export interface PresetAction {
  readonly name: string;
  readonly description: string;
  readonly method: HttpMethod;
  readonly effect: ActionEffect;
  /** Appended to `base_url`; `{field}` placeholders are URL-encoded input fields. */
  readonly path: string;
  /** Query parameter → input field. */
  readonly query?: Readonly<Record<string, string>>;
  /** Body field → input field; absent input fields are left out. */
  readonly body?: Readonly<Record<string, string>>;
  /** Body fields with a fixed value, e.g. `{ state: 'open' }`. */
  readonly fixedBody?: Readonly<Record<string, JsonValue>>;
  readonly inputSchema: JsonSchema;
  /** Output field → dot path into the JSON response; a trailing `?` makes it optional. */
  readonly output: Readonly<Record<string, string>>;
  readonly outputSchema: JsonSchema;
}

export interface PresetDefinition {
  /** The `type:` in connectors.yaml, e.g. `ai_gateway`. */
  readonly type: string;
  readonly actions: readonly PresetAction[];
}

/** The keys every preset instance accepts besides `type`. */
export const PRESET_KEYS = [...HTTP_INSTANCE_KEYS, 'idempotency_header', 'paths'] as const;

export const DEFAULT_IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** What the preset needs from an instance, already read and checked. */
export interface PresetInstanceConfig extends HttpInstance {
  readonly name: string;
  /** Undefined only when the instance says `idempotency_header: none`. */
  readonly idempotencyHeader: string | undefined;
  /** Action name → path replacing the preset's default. */
  readonly paths?: Readonly<Record<string, string>>;
  readonly secretValues: readonly string[];
}

/** The `ConnectorTypeDefinition` for a preset. */
export function presetConnectorType(preset: PresetDefinition): ConnectorTypeDefinition {
  return {
    type: preset.type,
    keys: PRESET_KEYS,
    create({ name, config, reader }) {
      const instance = readHttpInstance(config, reader);
      const idempotencyText = config.optionalString('idempotency_header');
      if (idempotencyText !== undefined && idempotencyText !== 'none') {
        if (!HEADER_NAME.test(idempotencyText)) {
          config.fail(
            'idempotency_header',
            'must be a header name such as Idempotency-Key, or none when the service cannot deduplicate',
          );
        }
      }
      const paths = readPaths(preset, config, reader);
      return createPresetConnector(preset, {
        name,
        ...instance,
        idempotencyHeader:
          idempotencyText === 'none' ? undefined : (idempotencyText ?? DEFAULT_IDEMPOTENCY_HEADER),
        paths,
        // Read last: every secret the instance used is known by now.
        secretValues: reader.secretValues(),
      });
    },
  };
}

/** A preset instance built in code (tests, or a caller without connectors.yaml). */
export function createPresetConnector(
  preset: PresetDefinition,
  instance: PresetInstanceConfig,
): Connector {
  const actions: Record<string, HttpActionConfig> = {};
  for (const action of preset.actions) {
    actions[action.name] = toHttpAction(action, instance.paths?.[action.name] ?? action.path);
  }
  const inner = createHttpConnector({
    name: instance.name,
    baseUrl: instance.baseUrl,
    headers: instance.headers,
    timeoutMs: instance.timeoutMs,
    concurrency: instance.concurrency,
    ...(instance.rateLimit === undefined ? {} : { rateLimit: instance.rateLimit }),
    ...(instance.idempotencyHeader === undefined
      ? {}
      : { idempotencyHeader: instance.idempotencyHeader }),
    actions,
    secretValues: instance.secretValues,
  });
  return new PresetConnector(preset, inner);
}

/**
 * The http connector under the preset's name and type, with the preset's
 * output schemas (the http connector only knows the field names) and fixed
 * body values slipped into the input the http connector maps from.
 */
class PresetConnector implements Connector {
  readonly name: string;
  readonly type: string;
  readonly actions: Readonly<Record<string, ConnectorActionSpec>>;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly byName: ReadonlyMap<string, PresetAction>;

  constructor(
    preset: PresetDefinition,
    private readonly inner: Connector,
  ) {
    this.name = inner.name;
    this.type = preset.type;
    this.concurrency = inner.concurrency;
    if (inner.rateLimit) this.rateLimit = inner.rateLimit;
    this.byName = new Map(preset.actions.map((action) => [action.name, action]));
    this.actions = Object.fromEntries(
      preset.actions.map((action) => [
        action.name,
        {
          name: action.name,
          description: action.description,
          effect: action.effect,
          inputSchema: action.inputSchema,
          outputSchema: action.outputSchema,
        } satisfies ConnectorActionSpec,
      ]),
    );
  }

  invoke(call: ConnectorCall): Promise<ConnectorResult> {
    return this.inner.invoke(this.withFixedBody(call));
  }

  async reconcile(call: ConnectorCall): Promise<Reconciliation> {
    return this.inner.reconcile
      ? this.inner.reconcile(this.withFixedBody(call))
      : { state: 'unknown' };
  }

  private withFixedBody(call: ConnectorCall): ConnectorCall {
    const fixed = this.byName.get(call.action)?.fixedBody;
    if (fixed === undefined) return call;
    const input = typeof call.input === 'object' && call.input !== null ? call.input : {};
    const extra = Object.fromEntries(
      Object.entries(fixed).map(([field, value]) => [fixedField(field), value]),
    );
    return { ...call, input: { ...input, ...extra } };
  }
}

/**
 * Fixed body values travel as input fields under a name no schema can
 * declare (input names are identifiers), so they never clash with real ones.
 */
function fixedField(bodyField: string): string {
  return `fixed:${bodyField}`;
}

function toHttpAction(action: PresetAction, path: string): HttpActionConfig {
  const body: Record<string, string> | undefined =
    action.body === undefined && action.fixedBody === undefined
      ? undefined
      : {
          ...Object.fromEntries(Object.keys(action.fixedBody ?? {}).map((f) => [f, fixedField(f)])),
          ...action.body,
        };
  const output: Record<string, HttpOutputField> = {};
  for (const [field, where] of Object.entries(action.output)) {
    const optional = where.endsWith('?');
    output[field] = {
      path: (optional ? where.slice(0, -1) : where)
        .split('.')
        .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment)),
      optional,
    };
  }
  return {
    name: action.name,
    description: action.description,
    method: action.method,
    effect: action.effect,
    path,
    query: action.query ?? {},
    headers: {},
    ...(body === undefined ? {} : { body }),
    output,
    inputSchema: action.inputSchema,
  };
}

// ---------------------------------------------------------------------------
// Reading an instance

/**
 * `paths: { action: /new/{field} }`: an unknown action name fails naming
 * `paths.<name>`; a path must keep the default's placeholders, so every
 * input the service needs still reaches it.
 */
function readPaths(
  preset: PresetDefinition,
  config: Fields,
  reader: ConnectorConfigReader,
): Record<string, string> | undefined {
  if (config.value('paths') === undefined) return undefined;
  const names = preset.actions.map((action) => action.name);
  const section: Fields = config.section('paths', names);
  const paths: Record<string, string> = {};
  for (const action of preset.actions) {
    const path = reader.plainString(section, action.name, false);
    if (path === undefined) continue;
    if (!path.startsWith('/')) section.fail(action.name, 'must start with /');
    if (/[?#]/.test(path)) section.fail(action.name, 'must not contain ? or #');
    const wanted = placeholders(action.path);
    const given = placeholders(path);
    if (wanted.join(',') !== given.join(',')) {
      const list = wanted.map((field) => `{${field}}`).join(', ') || 'no placeholders';
      section.fail(action.name, `must use exactly the placeholders of ${action.path} (${list})`);
    }
    paths[action.name] = path;
  }
  return paths;
}

function placeholders(path: string): string[] {
  return [...path.matchAll(/\{([^}]*)\}/g)].map((match) => match[1] ?? '').sort();
}
