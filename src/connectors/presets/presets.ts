import type { ConnectorTypeDefinition } from '../connector-config-reader.js';
import { AI_APPLICATION_CONNECTOR_TYPE } from './ai-application.js';
import { AI_GATEWAY_CONNECTOR_TYPE } from './ai-gateway.js';
import { FEATURE_STORE_CONNECTOR_TYPE } from './feature-store.js';
import { IDENTITY_CONNECTOR_TYPE } from './identity.js';

/** Every HTTP preset type, to pass to `loadConnectors(dir, { types })`. */
export const PRESET_CONNECTOR_TYPES: readonly ConnectorTypeDefinition[] = [
  AI_GATEWAY_CONNECTOR_TYPE,
  FEATURE_STORE_CONNECTOR_TYPE,
  AI_APPLICATION_CONNECTOR_TYPE,
  IDENTITY_CONNECTOR_TYPE,
];
