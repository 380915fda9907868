import { isMap, isScalar } from 'yaml';
import type { Fields } from '../../config/yaml-source.js';
import type {
  ConnectorConfigReader,
  ConnectorTypeDefinition,
  SecretString,
} from '../connector-config-reader.js';
import { hasReference } from '../secrets.js';
import {
  JIRA_DEFAULTS,
  JIRA_DEFAULT_PRIORITIES,
  createJiraConnector,
  type JiraApiVersion,
  type JiraCredentials,
} from './jira-connector.js';
import { WARDEN_SEVERITIES, toWardenSeverity, type WardenSeverity } from './jira-format.js';

/** `type: jira` in connectors.yaml; see docs/connectors/jira.md. */
export const JIRA_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'jira',
  keys: [
    'base_url',
    'api_version',
    'email',
    'api_token',
    'bearer_token',
    'project',
    'issue_type',
    'labels',
    'priority_map',
    'warden_url',
    'timeout',
    'concurrency',
    'rate_limit',
  ],
  create({ name, config, reader }) {
    const baseUrl = readHttpUrl(config, reader, 'base_url', true) ?? '';
    const credentials = readCredentials(config, reader);
    const project = config.requiredString('project');
    if (!/^[A-Z][A-Z0-9_]*$/.test(project)) {
      config.fail('project', 'must be a project key such as SEC (upper-case letters, digits, _)');
    }
    const labels =
      config.value('labels') === undefined
        ? [...JIRA_DEFAULTS.labels]
        : config.stringList('labels');
    labels.forEach((label, index) => {
      if (/\s/.test(label) || label.length > 255) {
        config.failItem('labels', index, 'must have no spaces and at most 255 characters');
      }
    });
    const wardenUrl = readHttpUrl(config, reader, 'warden_url', false);
    const rateLimit = reader.rateLimit(config, 'rate_limit');
    return createJiraConnector({
      name,
      baseUrl,
      apiVersion: readApiVersion(config, reader),
      credentials,
      project,
      issueType: config.optionalString('issue_type') ?? JIRA_DEFAULTS.issueType,
      labels,
      priorityMap: readPriorityMap(config, reader),
      ...(wardenUrl === undefined ? {} : { wardenUrl }),
      timeoutMs: reader.duration(config, 'timeout') ?? JIRA_DEFAULTS.timeoutMs,
      concurrency: reader.positiveInteger(config, 'concurrency') ?? JIRA_DEFAULTS.concurrency,
      ...(rateLimit === undefined ? {} : { rateLimit }),
      secretValues: reader.secretValues(),
    });
  },
};

/** `email` + `api_token` (Basic, Jira Cloud) or `bearer_token` (a Data Center PAT). */
function readCredentials(config: Fields, reader: ConnectorConfigReader): JiraCredentials {
  const hasBasic = config.value('email') !== undefined || config.value('api_token') !== undefined;
  const hasBearer = config.value('bearer_token') !== undefined;
  if (hasBasic && hasBearer) {
    config.fail('bearer_token', 'cannot be combined with email and api_token: choose one');
  }
  if (hasBearer) return { kind: 'bearer', token: readSecret(config, reader, 'bearer_token') };
  if (!hasBasic) {
    config.fail('api_token', 'is required (with email), unless bearer_token is set');
  }
  const email = reader.secretString(config, 'email');
  if (email === undefined) return config.fail('email', 'is required with api_token');
  if (/[:\r\n]/.test(email.value)) config.fail('email', 'must not contain ":" or a line break');
  return { kind: 'basic', email, apiToken: readSecret(config, reader, 'api_token') };
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

function readApiVersion(config: Fields, reader: ConnectorConfigReader): JiraApiVersion {
  const value = reader.json(config, 'api_version');
  if (value === undefined) return JIRA_DEFAULTS.apiVersion;
  if (value === 3 || value === '3') return 3;
  if (value === 2 || value === '2') return 2;
  return config.fail('api_version', 'must be 3 (Jira Cloud) or 2 (Jira Data Center)');
}

/**
 * Severities given override the defaults one by one; `none` never sets a
 * priority (for projects whose create screen has no priority field).
 */
function readPriorityMap(
  config: Fields,
  reader: ConnectorConfigReader,
): Record<WardenSeverity, string> | undefined {
  const node = config.value('priority_map');
  if (isScalar(node) && node.value === 'none') return undefined;
  if (node !== undefined && !isMap(node)) {
    config.fail('priority_map', 'must be a mapping of severity to priority name, or none');
  }
  const map: Record<WardenSeverity, string> = { ...JIRA_DEFAULT_PRIORITIES };
  const section: Fields = reader.openSection(config, 'priority_map');
  for (const key of section.keys()) {
    const severity = toWardenSeverity(key);
    if (severity === undefined) {
      section.fail(key, `is not a Warden severity (one of: ${WARDEN_SEVERITIES.join(', ')})`);
    }
    map[severity] = section.requiredString(key);
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
  if (url.username || url.password) {
    config.fail(key, 'must not contain credentials');
  }
  if (url.search || url.hash) config.fail(key, 'must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}
