import { isMap, isScalar } from 'yaml';
import type { Fields } from '../../config/yaml-source.js';
import { readSeverityMap } from '../case-ticket.js';
import {
  LIMIT_KEYS,
  type ConnectorConfigReader,
  type ConnectorTypeDefinition,
} from '../connector-config-reader.js';
import { readBasicOrBearer } from '../http/http-credentials.js';
import {
  JIRA_DEFAULTS,
  JIRA_DEFAULT_PRIORITIES,
  createJiraConnector,
  type JiraApiVersion,
  type JiraCredentials,
} from './jira-connector.js';
import type { WardenSeverity } from './jira-format.js';

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
    ...LIMIT_KEYS,
  ],
  create({ name, config, reader }) {
    const baseUrl = reader.httpUrl(config, 'base_url', { required: true });
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
    const wardenUrl = reader.httpUrl(config, 'warden_url');
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
      ...reader.limits(config, JIRA_DEFAULTS),
      secretValues: reader.secretValues(),
    });
  },
};

/** `email` + `api_token` (Basic, Jira Cloud) or `bearer_token` (a Data Center PAT). */
function readCredentials(config: Fields, reader: ConnectorConfigReader): JiraCredentials {
  const credentials = readBasicOrBearer(config, reader, {
    username: 'email',
    password: 'api_token',
    token: 'bearer_token',
  });
  return credentials.kind === 'bearer'
    ? credentials
    : { kind: 'basic', email: credentials.username, apiToken: credentials.password };
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
  return readSeverityMap(config, reader, 'priority_map', JIRA_DEFAULT_PRIORITIES, (section, key) =>
    section.requiredString(key),
  );
}
