import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  loadConnectorsFromYaml,
  placeholderSecrets,
} from '../../../test/support/connector-test-kit.js';
import { connectorDoc, docExample, yamlBlocks } from '../../../test/support/doc-examples.js';
import type { ConnectorTypeDefinition } from '../connector-config-reader.js';
import type { ConnectorRegistry } from '../connector-config.js';
import { OPENC2_CONNECTOR_TYPE } from '../openc2/openc2-connector.js';
import { AI_APPLICATION_CONNECTOR_TYPE } from './ai-application.js';
import { AI_GATEWAY_CONNECTOR_TYPE } from './ai-gateway.js';
import { FEATURE_STORE_CONNECTOR_TYPE } from './feature-store.js';
import { IDENTITY_CONNECTOR_TYPE } from './identity.js';

/**
 * docs/connectors/presets.md and docs/connectors/openc2.md: the
 * connectors.yaml examples load as written, every playbook step shown
 * names an instance and action that exist, and every action is documented.
 */

/** The page's connectors.yaml example, loaded with a placeholder for each secret named. */
function loadExample(
  docs: string,
  types: ConnectorTypeDefinition[],
  secrets: string[],
): ConnectorRegistry {
  return loadConnectorsFromYaml(docExample(docs, 'connectors.yaml'), {
    secrets: placeholderSecrets(secrets),
    types,
  });
}

/** Every `act:`/`enrich:` step in the page's YAML blocks names a configured instance and action. */
function expectStepsExist(docs: string, registry: ConnectorRegistry): number {
  let steps = 0;
  for (const block of yamlBlocks(docs)) {
    const parsed: unknown = parse(block);
    if (!Array.isArray(parsed)) continue;
    for (const step of parsed as Record<string, { connector?: string; action?: string }>[]) {
      const call = step.act ?? step.enrich;
      if (call === undefined) continue;
      steps += 1;
      const connector = registry.get(call.connector ?? '');
      expect(
        connector.actions[call.action ?? ''],
        `${call.connector}.${call.action}`,
      ).toBeDefined();
    }
  }
  return steps;
}

describe('docs/connectors/presets.md', () => {
  const docs = connectorDoc('presets.md');
  const types = [
    AI_GATEWAY_CONNECTOR_TYPE,
    FEATURE_STORE_CONNECTOR_TYPE,
    AI_APPLICATION_CONNECTOR_TYPE,
    IDENTITY_CONNECTOR_TYPE,
  ];

  it('has a connectors.yaml that loads, and steps that use its instances', () => {
    const registry = loadExample(docs, types, [
      'GATEWAY_ADMIN_TOKEN',
      'FEATURE_STORE_KEY',
      'ASSISTANT_TOKEN',
      'IAM_READ_TOKEN',
    ]);
    expect(registry.get('gateway').type).toBe('ai_gateway');
    expect(registry.get('feature_store').type).toBe('feature_store');
    expect(registry.get('assistant').type).toBe('ai_application');
    expect(registry.get('identity').type).toBe('identity');
    expect(expectStepsExist(docs, registry)).toBeGreaterThanOrEqual(6);
  });

  it('documents every action of every preset', () => {
    for (const type of types) {
      const registry = loadExample(
        `<!-- example: connectors.yaml -->\n\`\`\`yaml\nconnectors:\n  x: { type: ${type.type}, base_url: "http://h" }\n\`\`\`\n`,
        [type],
        [],
      );
      for (const action of Object.keys(registry.get('x').actions)) {
        expect(docs, action).toContain(`| \`${action}\` |`);
      }
    }
  });
});

describe('docs/connectors/openc2.md', () => {
  const docs = connectorDoc('openc2.md');

  it('has a connectors.yaml that loads, and steps that use its instances', () => {
    const registry = loadExample(docs, [OPENC2_CONNECTOR_TYPE], ['OPENC2_TOKEN', 'EDR_OPENC2_KEY']);
    expect(registry.get('perimeter').type).toBe('openc2');
    expect(registry.get('edr').type).toBe('openc2');
    expect(expectStepsExist(docs, registry)).toBeGreaterThanOrEqual(6);
  });

  it('documents every action', () => {
    const registry = loadExample(docs, [OPENC2_CONNECTOR_TYPE], ['OPENC2_TOKEN', 'EDR_OPENC2_KEY']);
    for (const action of Object.keys(registry.get('perimeter').actions)) {
      expect(docs, action).toContain(`### ${action}`);
    }
  });
});
