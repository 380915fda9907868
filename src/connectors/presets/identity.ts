import type { ConnectorTypeDefinition } from '../connector-config-reader.js';
import { presetConnectorType, type PresetDefinition } from './preset-connector.js';
import { BOOLEAN, ID, STRING, STRINGS, TIME_OR_NULL, objectSchema } from './preset-schemas.js';

/**
 * `type: identity`: the company's identity service, read-only — what a
 * user may do, and who owns an API key. The API contract is in
 * docs/connectors/presets.md.
 */

const IDENTITY: PresetDefinition = {
  type: 'identity',
  actions: [
    {
      name: 'entitlements',
      description:
        "A user's (or service account's) entitlements, optionally for one resource; can_write says whether they may write it.",
      method: 'GET',
      effect: 'read',
      path: '/users/{user}/entitlements',
      query: { resource: 'resource' },
      inputSchema: objectSchema(
        { user: ID, resource: { type: 'string', minLength: 1, maxLength: 512 } },
        ['user'],
      ),
      output: { user: 'user', entitlements: 'entitlements', can_write: 'can_write?' },
      outputSchema: objectSchema(
        {
          user: STRING,
          entitlements: {
            type: 'array',
            items: objectSchema({ resource: STRING, actions: STRINGS }, ['resource', 'actions']),
          },
          can_write: BOOLEAN,
        },
        ['user', 'entitlements'],
      ),
    },
    {
      name: 'api_key_owner',
      description: 'Who owns an API key, its scopes, and when it was created and last used.',
      method: 'GET',
      effect: 'read',
      path: '/api-keys/{key}',
      inputSchema: objectSchema({ key: ID }, ['key']),
      output: {
        key: 'key',
        owner: 'owner',
        scopes: 'scopes',
        created_at: 'created_at',
        last_used_at: 'last_used_at',
      },
      outputSchema: objectSchema(
        {
          key: STRING,
          owner: STRING,
          scopes: STRINGS,
          created_at: STRING,
          last_used_at: TIME_OR_NULL,
        },
        ['key', 'owner', 'scopes', 'created_at', 'last_used_at'],
      ),
    },
  ],
};

export const IDENTITY_CONNECTOR_TYPE: ConnectorTypeDefinition = presetConnectorType(IDENTITY);
