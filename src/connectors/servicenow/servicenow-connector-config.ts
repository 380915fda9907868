import type { Fields } from '../../config/yaml-source.js';
import { readSeverityMap, type WardenSeverity } from '../case-ticket.js';
import {
  LIMIT_KEYS,
  type ConnectorConfigReader,
  type ConnectorTypeDefinition,
} from '../connector-config-reader.js';
import { readBasicOrBearer } from '../http/http-credentials.js';
import {
  SERVICENOW_DEFAULTS,
  SERVICENOW_DEFAULT_IMPACT,
  SERVICENOW_DEFAULT_URGENCY,
  createServiceNowConnector,
  type ServiceNowLevel,
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
    ...LIMIT_KEYS,
  ],
  create({ name, config, reader }) {
    const baseUrl = reader.httpUrl(config, 'base_url', { required: true });
    // `token` is an OAuth access token, sent as Bearer.
    const credentials = readBasicOrBearer(config, reader, {
      username: 'username',
      password: 'password',
      token: 'token',
    });
    const table = config.optionalString('table') ?? SERVICENOW_DEFAULTS.table;
    if (!/^[a-z][a-z0-9_]*$/.test(table)) {
      config.fail('table', 'must be a table name such as incident or sn_si_incident');
    }
    const assignmentGroup = readSysId(config, 'assignment_group');
    const callerId = readSysId(config, 'caller_id');
    const wardenUrl = reader.httpUrl(config, 'warden_url');
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
      ...reader.limits(config, SERVICENOW_DEFAULTS),
      secretValues: reader.secretValues(),
    });
  },
};

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
  return readSeverityMap(
    config,
    reader,
    key,
    defaults,
    (section: Fields, name): ServiceNowLevel => {
      const value = reader.json(section, name);
      const level = typeof value === 'number' || typeof value === 'string' ? String(value) : '';
      if (level !== '1' && level !== '2' && level !== '3') {
        section.fail(name, 'must be 1 (high), 2 (medium) or 3 (low)');
      }
      return level;
    },
  );
}
