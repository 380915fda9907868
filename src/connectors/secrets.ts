import { isMap, isScalar } from 'yaml';
import { readYamlFile, type Fields, type YamlFile } from '../config/yaml-source.js';

/**
 * Secrets for connector configuration, referenced as `${secret:NAME}`. The
 * one way to get a credential into a connector: there is no `${env:…}`.
 * Secret values never appear in errors, exchanges or logs.
 */
export interface SecretSource {
  /** The value; undefined when not set. */
  get(name: string): string | undefined;
  /** Where a secret of this name can be set, for error messages. */
  whereToSet(name: string): string;
}

/** `WARDEN_SECRET_TI_TOKEN` holds the secret `TI_TOKEN`. */
export const SECRET_ENV_PREFIX = 'WARDEN_SECRET_';
/** In the data directory: `secrets: { TI_TOKEN: "…" }`. */
export const SECRETS_FILE = 'secrets.yaml';
export const SECRET_NAME = /^[A-Z][A-Z0-9_]*$/;

export interface SecretSourceOptions {
  /** The environment to read `WARDEN_SECRET_<NAME>` from (main passes `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Path of a secrets file; a missing file holds no secrets. */
  file?: string;
  /**
   * Secrets files consulted after `file`, in order: the config directory's
   * `secrets.yaml`, for values that are not secret at all (the demo's
   * stand-in API keys). Real credentials belong in the environment or `file`.
   */
  fallbackFiles?: readonly string[];
}

/**
 * Secrets from the environment and a secrets file; the environment wins, so
 * a deployment can override one value without editing the file. An empty
 * value counts as not set.
 *
 * @example loadSecretSource({ env: process.env, file: join(dataDir, SECRETS_FILE) })
 */
export function loadSecretSource(options: SecretSourceOptions): SecretSource {
  const files = [
    ...(options.file === undefined ? [] : [options.file]),
    ...(options.fallbackFiles ?? []),
  ].map(readSecretsFile);
  const env = options.env ?? {};
  return {
    get(name) {
      const value = env[`${SECRET_ENV_PREFIX}${name}`];
      if (value !== undefined && value !== '') return value;
      for (const file of files) {
        const found = file.get(name);
        if (found !== undefined) return found;
      }
      return undefined;
    },
    whereToSet(name) {
      const file =
        options.file === undefined ? '' : ` or add ${name} under secrets: in ${options.file}`;
      return `set ${SECRET_ENV_PREFIX}${name}${file}`;
    },
  };
}

/**
 * Every secret set to a stand-in URL-shaped value: for checking connector
 * configuration and playbooks without the real credentials (`warden
 * playbook validate`). Nothing loaded with it may be called.
 */
export function placeholderSecretSource(): SecretSource {
  return {
    get: (name) => `https://placeholder.invalid/${name.toLowerCase()}`,
    whereToSet: (name) => `set ${SECRET_ENV_PREFIX}${name}`,
  };
}

/** A fixed set of secrets, for tests. */
export function staticSecretSource(values: Readonly<Record<string, string>>): SecretSource {
  return {
    get: (name) => (Object.hasOwn(values, name) ? values[name] : undefined),
    whereToSet: (name) => `add ${name} to the test's secrets`,
  };
}

/** Errors point at positions and never quote a value. */
function readSecretsFile(path: string): Map<string, string> {
  const secrets = new Map<string, string>();
  const parsed = readYamlFile(path);
  if (parsed === undefined) return secrets;
  const file: YamlFile = parsed;
  const root: Fields = file.root(['secrets']);
  const node = root.value('secrets');
  if (node === undefined) return secrets;
  if (!isMap(node)) root.fail('secrets', 'must be a mapping of secret names to values');
  for (const pair of node.items) {
    const key = file.value(pair.key);
    if (!isScalar(key) || typeof key.value !== 'string' || !SECRET_NAME.test(key.value)) {
      file.fail(pair.key ?? node, 'secrets: names must match [A-Z][A-Z0-9_]* (e.g. TI_TOKEN)');
    }
    const field = `secrets.${key.value}`;
    if (secrets.has(key.value)) file.fail(key, `${field} is set twice`, field);
    const value = file.value(pair.value);
    if (!isScalar(value) || typeof value.value !== 'string' || value.value === '') {
      // Never describe the value: it may be a secret written without quotes.
      file.fail(value ?? key, `${field} must be a non-empty string (quote it)`, field);
    }
    secrets.set(key.value, value.value);
  }
  return secrets;
}

// ---------------------------------------------------------------------------
// References

/** What a config string with `${secret:NAME}` references resolved to. */
export type SecretResolution =
  | {
      readonly ok: true;
      readonly value: string;
      /** The secrets used, by name, so the connector can redact their values. */
      readonly used: ReadonlyMap<string, string>;
    }
  | { readonly ok: false; readonly problem: string };

const REFERENCE = /\$\{([^}]*)\}/g;

/** Replaces each `${secret:NAME}` in `text`; any other `${…}` is a problem. */
export function resolveSecretReferences(text: string, source: SecretSource): SecretResolution {
  const used = new Map<string, string>();
  let problem: string | undefined;
  const value = text.replace(REFERENCE, (whole, inner: string) => {
    if (problem !== undefined) return whole;
    const match = /^secret:(.*)$/.exec(inner);
    if (match === null) {
      problem = `uses ${whole}: only \${secret:NAME} references are supported`;
      return whole;
    }
    const name = match[1] ?? '';
    if (!SECRET_NAME.test(name)) {
      problem = `uses ${whole}: secret names must match [A-Z][A-Z0-9_]* (e.g. TI_TOKEN)`;
      return whole;
    }
    const secret = source.get(name);
    if (secret === undefined) {
      problem = `references secret ${name}, which is not set (${source.whereToSet(name)})`;
      return whole;
    }
    used.set(name, secret);
    return secret;
  });
  return problem === undefined ? { ok: true, value, used } : { ok: false, problem };
}

/** True when `text` contains a `${…}` reference. */
export function hasReference(text: string): boolean {
  return /\$\{[^}]*\}/.test(text);
}

/**
 * Scrubs secret values (as written and URL-encoded) from any text before it
 * is recorded or shown: the safety net behind redacting headers by name,
 * e.g. for a service that echoes the request back.
 */
export class SecretRedactor {
  private readonly values: string[];

  constructor(secrets: Iterable<string>) {
    const variants = new Set<string>();
    for (const secret of secrets) {
      if (secret === '') continue;
      variants.add(secret);
      variants.add(encodeURIComponent(secret));
      // A secret URL (a Slack webhook) is recorded as the parsed URL prints it:
      // lower-case host, default port dropped, path escaped.
      if (URL.canParse(secret)) {
        const href = new URL(secret).href;
        variants.add(href);
        variants.add(href.replace(/\/$/, ''));
      }
    }
    // Longest first, so a secret containing another is replaced whole.
    this.values = [...variants].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let result = text;
    for (const value of this.values) result = result.split(value).join('[redacted]');
    return result;
  }
}
