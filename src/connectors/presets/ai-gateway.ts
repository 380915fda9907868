import type { ConnectorTypeDefinition } from '../connector-config-reader.js';
import {
  presetConnectorType,
  type PresetAction,
  type PresetDefinition,
} from './preset-connector.js';
import { CASE_NUMBER, ID, REASON, STRING, objectSchema } from './preset-schemas.js';

/**
 * `type: ai_gateway`: the company's AI/inference gateway — API keys and the
 * per-endpoint circuit breaker. The API contract the gateway implements is
 * in docs/connectors/presets.md.
 */

const KEY_STATES = ['active', 'disabled', 'revoked'];
/** closed: the primary model serves; open: the breaker is tripped; fallback: traffic goes to the fallback model. */
const ENDPOINT_STATES = ['closed', 'open', 'fallback'];

const KEY_OUTPUT = objectSchema({ key: STRING, state: { enum: KEY_STATES } }, ['key', 'state']);
const ENDPOINT_OUTPUT = objectSchema(
  {
    endpoint: STRING,
    state: { enum: ENDPOINT_STATES },
    fallback_model: { type: ['string', 'null'] },
  },
  ['endpoint', 'state'],
);
const ENDPOINT_FIELDS = { endpoint: 'endpoint', state: 'state', fallback_model: 'fallback_model?' };

function keyAction(name: string, verb: string, description: string): PresetAction {
  return {
    name,
    description,
    method: 'POST',
    effect: 'write',
    path: `/keys/{key}/${verb}`,
    body: { reason: 'reason', case: 'case' },
    inputSchema: objectSchema({ key: ID, reason: REASON, case: CASE_NUMBER }, ['key', 'reason']),
    output: { key: 'key', state: 'state' },
    outputSchema: KEY_OUTPUT,
  };
}

const AI_GATEWAY: PresetDefinition = {
  type: 'ai_gateway',
  actions: [
    keyAction(
      'disable_api_key',
      'disable',
      'Disables an API key at the gateway (it can be enabled again).',
    ),
    keyAction('revoke_api_key', 'revoke', 'Revokes an API key for good.'),
    {
      name: 'trip_circuit_breaker',
      description:
        "Opens an endpoint's circuit breaker: the primary model stops serving; the fallback model, when given, answers instead.",
      method: 'POST',
      effect: 'write',
      path: '/endpoints/{endpoint}/circuit-breaker',
      fixedBody: { state: 'open' },
      body: { fallback_model: 'fallback_model', reason: 'reason', case: 'case' },
      inputSchema: objectSchema(
        {
          endpoint: ID,
          reason: REASON,
          fallback_model: { type: 'string', minLength: 1 },
          case: CASE_NUMBER,
        },
        ['endpoint', 'reason'],
      ),
      output: ENDPOINT_FIELDS,
      outputSchema: ENDPOINT_OUTPUT,
    },
    {
      name: 'reset_circuit_breaker',
      description: "Closes an endpoint's circuit breaker: the primary model serves again.",
      method: 'POST',
      effect: 'write',
      path: '/endpoints/{endpoint}/circuit-breaker',
      fixedBody: { state: 'closed' },
      inputSchema: objectSchema({ endpoint: ID }, ['endpoint']),
      output: ENDPOINT_FIELDS,
      outputSchema: ENDPOINT_OUTPUT,
    },
    {
      name: 'route_to_fallback',
      description:
        "Sends an endpoint's traffic to a fallback model without opening the breaker (e.g. while the primary is investigated).",
      method: 'POST',
      effect: 'write',
      path: '/endpoints/{endpoint}/route',
      fixedBody: { target: 'fallback' },
      body: { fallback_model: 'fallback_model', reason: 'reason', case: 'case' },
      inputSchema: objectSchema(
        {
          endpoint: ID,
          fallback_model: { type: 'string', minLength: 1 },
          reason: REASON,
          case: CASE_NUMBER,
        },
        ['endpoint', 'fallback_model', 'reason'],
      ),
      output: ENDPOINT_FIELDS,
      outputSchema: ENDPOINT_OUTPUT,
    },
    {
      name: 'get_circuit_breaker',
      description: "Reads an endpoint's breaker state and fallback model.",
      method: 'GET',
      effect: 'read',
      path: '/endpoints/{endpoint}/circuit-breaker',
      inputSchema: objectSchema({ endpoint: ID }, ['endpoint']),
      output: ENDPOINT_FIELDS,
      outputSchema: ENDPOINT_OUTPUT,
    },
  ],
};

export const AI_GATEWAY_CONNECTOR_TYPE: ConnectorTypeDefinition = presetConnectorType(AI_GATEWAY);
