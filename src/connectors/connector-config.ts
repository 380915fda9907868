import { join } from 'node:path';
import { readYamlFile, type Fields } from '../config/yaml-source.js';
import type { InventoryIndex } from '../core/inventory.js';
import { ConnectorError, type Connector } from './connector.js';
import { ConnectorConfigReader, type ConnectorTypeDefinition } from './connector-config-reader.js';
import { guardConnector } from './guarded-connector.js';
import { CONNECTOR_TYPES } from './connector-types.js';
import { createInventoryConnector } from './inventory/inventory-connector.js';
import { createLogConnector, type LogSink } from './log/log-connector.js';
import type { SecretSource } from './secrets.js';

export const CONNECTORS_FILE = 'connectors.yaml';

/** The instances the runner can call, by name; every one is guarded (see guardConnector). */
export interface ConnectorRegistry {
  /** Throws `ConnectorError` `unknown_connector` listing the known names. */
  get(name: string): Connector;
  has(name: string): boolean;
  /** Sorted. */
  names(): string[];
}

export interface LoadConnectorsOptions {
  secrets: SecretSource;
  /** What the built-in `inventory` connector reads. */
  inventory: InventoryIndex;
  /** Where the built-in `log` connector writes. */
  logSink: LogSink;
  /** Connector types besides the shipped ones (CONNECTOR_TYPES), e.g. in tests. */
  types?: readonly ConnectorTypeDefinition[];
}

/** Always present, under these names; connectors.yaml cannot redefine them. */
export const BUILTIN_CONNECTORS = ['log', 'inventory'] as const;
export const BUILTIN_CONNECTOR_TYPES: readonly ConnectorTypeDefinition[] = CONNECTOR_TYPES;

const INSTANCE_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Reads `connectors.yaml` from the config directory (optional) and builds
 * every instance, plus the built-in `log` and `inventory`. Any problem —
 * including a missing secret — throws `invalid_config` with
 * `file:line:column: connectors.<name>.<field> problem`; no secret value is
 * ever part of a message.
 */
export function loadConnectors(
  configDir: string,
  options: LoadConnectorsOptions,
): ConnectorRegistry {
  const connectors: Connector[] = [
    createLogConnector({ sink: options.logSink }),
    createInventoryConnector(options.inventory),
  ];
  const file = readYamlFile(join(configDir, CONNECTORS_FILE));
  if (file !== undefined) {
    const types = new Map(
      [...BUILTIN_CONNECTOR_TYPES, ...(options.types ?? [])].map((type) => [type.type, type]),
    );
    const root = file.root(['connectors']);
    const reader = new ConnectorConfigReader(file, options.secrets);
    const section: Fields = reader.openSection(root, 'connectors');
    for (const name of section.keys()) {
      if ((BUILTIN_CONNECTORS as readonly string[]).includes(name)) {
        section.fail(name, `is a built-in connector and cannot be configured`);
      }
      if (!INSTANCE_NAME.test(name)) {
        section.fail(name, 'is not a valid connector name (use lower_snake_case)');
      }
      // Read `type` first, allowing any key, so unknown keys are judged against that type's keys.
      const untyped: Fields = reader.openSection(section, name);
      const typeName = untyped.requiredString('type');
      const type = types.get(typeName);
      if (type === undefined) {
        const known = [...types.keys()].join(', ');
        untyped.fail('type', `"${typeName}" is not a connector type (known: ${known})`);
      }
      const config = section.section(name, ['type', ...type.keys], { required: true });
      // One reader per instance: it collects the secrets that instance must redact.
      const instanceReader = new ConnectorConfigReader(file, options.secrets);
      connectors.push(type.create({ name, config, reader: instanceReader }));
    }
  }
  return connectorRegistry(connectors);
}

/** A registry over connectors built in code (tests, the playbook test runner). */
export function connectorRegistry(connectors: readonly Connector[]): ConnectorRegistry {
  const byName = new Map<string, Connector>();
  for (const connector of connectors) {
    if (byName.has(connector.name)) throw new Error(`two connectors named ${connector.name}`);
    byName.set(connector.name, guardConnector(connector));
  }
  const names = [...byName.keys()].sort();
  return {
    get(name) {
      const connector = byName.get(name);
      if (connector === undefined) {
        throw new ConnectorError(
          'unknown_connector',
          `no connector named "${name}" (known: ${names.join(', ')})`,
        );
      }
      return connector;
    },
    has: (name) => byName.has(name),
    names: () => [...names],
  };
}
