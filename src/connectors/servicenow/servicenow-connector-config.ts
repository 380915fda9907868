import type { Fields } from '../../config/yaml-source.js';
import type {
  ConnectorConfigReader,
  ConnectorTypeDefinition,
  SecretString,
} from '../connector-config-reader.js';
import { hasReference } from '../secrets.js';
import {
  SERVICENOW_DEFAULTS,
  SERVICENOW_DEFAULT_IMPACT,
  SERVICENOW_DEFAULT_URGENCY,
  WARDEN_SEVERITIES,
  createServiceNowConnector,
  toWardenSeverity,
  type ServiceNowCredentials,
  type ServiceNowLevel,
  type WardenSeverity,
} from './servicenow-connector.js';

/** `type: servicenow` in connectors.yaml; see docs/connectors/servicenow.md. */
export const SERVICENOW_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'servicenow',
  keys: [
    'base_url',
    'username',
    'password',
    'token',
    'table',
    'assignment_group',
    'caller_id',
    'urgency_map',
    'impact_map',
    'warden_url',
    'timeout',
    'concurrency',
    'rate_limit',
  ],
  create({ name, config, reader }) {
    const baseUrl = readHttpUrl(config, reader, 'base_url', true) ?? '';
    const credentials = readCredentials(config, reader);
    const table = config.optionalString('table') ?? SERVICENOW_DEFAULTS.table;
    if (!/^[a-z][a-z0-9_]*$/.test(table)) {
      config.fail('table', 'must be a table name such as incident or sn_si_incident');
    }
    const assignmentGroup = readSysId(config, 'assignment_group');
    const callerId = readSysId(config, 'caller_id');
    const wardenUrl = readHttpUrl(config, reader, 'warden_url', false);
    const rateLimit = reader.rateLimit(config, 'rate_limit');
    return createServiceNowConnector({
      name,
      baseUrl,
      credentials,
      table,
      ...(assignmentGroup === undefined ? {} : { assignmentGroup }),
      ...(callerId === undefined ? {} : { callerId }),
      urgencyMap: readLevelMap(config, reader, 'urgency_map', SERVICENOW_DEFAULT_URGENCY),
      impactMap: readLevelMap(config, reader, 'impact_map', SERVICENOW_DEFAULT_IMPACT),
      ...(wardenUrl === undefined ? {} : { wardenUrl }),
      timeoutMs: reader.duration(config, 'timeout') ?? SERVICENOW_DEFAULTS.timeoutMs,
      concurrency: reader.positiveInteger(config, 'concurrency') ?? SERVICENOW_DEFAULTS.concurrency,
      ...(rateLimit === undefined ? {} : { rateLimit }),
      secretValues: reader.secretValues(),
    });
  },
};

/** `username` + `password` (Basic) or `token` (an OAuth access token, sent as Bearer). */
function readCredentials(config: Fields, reader: ConnectorConfigReader): ServiceNowCredentials {
  const hasBasic = config.value('username') !== undefined || config.value('password') !== undefined;
  const hasBearer = config.value('token') !== undefined;
  if (hasBasic && hasBearer) {
    config.fail('token', 'cannot be combined with username and password: choose one');
  }
  if (hasBearer) return { kind: 'bearer', token: readSecret(config, reader, 'token') };
  if (!hasBasic) config.fail('password', 'is required (with username), unless token is set');
  const username = reader.secretString(config, 'username');
  if (username === undefined) return config.fail('username', 'is required with password');
  if (/[:\r\n]/.test(username.value)) {
    config.fail('username', 'must not contain ":" or a line break');
  }
  return { kind: 'basic', username, password: readSecret(config, reader, 'password') };
}

/** A credential: only as a `${secret:NAME}` reference, never written into the file. */
function readSecret(config: Fields, reader: ConnectorConfigReader, key: string): SecretString {
  const secret = reader.secretString(config, key) ?? config.fail(key, 'is required');
  if (!hasReference(secret.recorded)) {
    config.fail(key, 'must be a ${secret:NAME} reference: credentials do not go in this file');
  }
  if (/[\r\n\0]/.test(secret.value)) {
    config.fail(key, 'contains a line break or NUL (after secret references are resolved)');
  }
  return secret;
}

function readSysId(config: Fields, key: string): string | undefined {
  const value = config.optionalString(key);
  if (value !== undefined && !/^[0-9a-f]{32}$/.test(value)) {
    config.fail(key, 'must be a sys_id (32 hex digits)');
  }
  return value;
}

/** Severities given override the defaults one by one; values are 1, 2 or 3. */
function readLevelMap(
  config: Fields,
  reader: ConnectorConfigReader,
  key: string,
  defaults: Readonly<Record<WardenSeverity, ServiceNowLevel>>,
): Record<WardenSeverity, ServiceNowLevel> {
  const map: Record<WardenSeverity, ServiceNowLevel> = { ...defaults };
  const section: Fields = reader.openSection(config, key);
  for (const name of section.keys()) {
    const severity = toWardenSeverity(name);
    if (severity === undefined) {
      section.fail(name, `is not a Warden severity (one of: ${WARDEN_SEVERITIES.join(', ')})`);
    }
    const value = reader.json(section, name);
    const level = typeof value === 'number' || typeof value === 'string' ? String(value) : '';
    if (level !== '1' && level !== '2' && level !== '3') {
      section.fail(name, 'must be 1 (high), 2 (medium) or 3 (low)');
    }
    map[severity] = level;
  }
  return map;
}

/** An http(s) URL without credentials, query or fragment; trailing slashes removed. */
function readHttpUrl(
  config: Fields,
  reader: ConnectorConfigReader,
  key: string,
  required: boolean,
): string | undefined {
  const text = reader.plainString(config, key, required);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return config.fail(key, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    config.fail(key, 'must be an http or https URL');
  }
  if (url.username || url.password) config.fail(key, 'must not contain credentials');
  if (url.search || url.hash) config.fail(key, 'must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}
