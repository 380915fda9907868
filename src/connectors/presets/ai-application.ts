import type { ConnectorTypeDefinition } from '../connector-config-reader.js';
import { presetConnectorType, type PresetDefinition } from './preset-connector.js';
import {
  BOOLEAN,
  CASE_NUMBER,
  ID,
  REASON,
  STRING,
  TIME_OR_NULL,
  objectSchema,
} from './preset-schemas.js';

/**
 * `type: ai_application`: the company's AI application (chat assistant,
 * copilot…) — its user sessions and users. The API contract is in
 * docs/connectors/presets.md.
 */

const USER_OUTPUT = objectSchema({ user: STRING, blocked: BOOLEAN, blocked_until: TIME_OR_NULL }, [
  'user',
  'blocked',
]);
const USER_FIELDS = { user: 'user', blocked: 'blocked', blocked_until: 'blocked_until?' };

const AI_APPLICATION: PresetDefinition = {
  type: 'ai_application',
  actions: [
    {
      name: 'terminate_session',
      description: 'Ends a user session in the application (the conversation stops at once).',
      method: 'POST',
      effect: 'write',
      path: '/sessions/{session}/terminate',
      body: { reason: 'reason', case: 'case' },
      inputSchema: objectSchema({ session: ID, reason: REASON, case: CASE_NUMBER }, [
        'session',
        'reason',
      ]),
      output: { session: 'session', terminated: 'terminated', user: 'user?' },
      outputSchema: objectSchema({ session: STRING, terminated: BOOLEAN, user: STRING }, [
        'session',
        'terminated',
      ]),
    },
    {
      name: 'block_user',
      description:
        'Blocks a user from the application, for duration_minutes or until unblocked; their sessions end.',
      method: 'POST',
      effect: 'write',
      path: '/users/{user}/block',
      body: { reason: 'reason', duration_minutes: 'duration_minutes', case: 'case' },
      inputSchema: objectSchema(
        {
          user: ID,
          reason: REASON,
          duration_minutes: { type: 'integer', minimum: 1, maximum: 525_600 },
          case: CASE_NUMBER,
        },
        ['user', 'reason'],
      ),
      output: USER_FIELDS,
      outputSchema: USER_OUTPUT,
    },
    {
      name: 'unblock_user',
      description: 'Lets a blocked user back into the application.',
      method: 'POST',
      effect: 'write',
      path: '/users/{user}/unblock',
      inputSchema: objectSchema({ user: ID }, ['user']),
      output: USER_FIELDS,
      outputSchema: USER_OUTPUT,
    },
    {
      name: 'get_user',
      description: 'Reads whether a user is blocked and until when.',
      method: 'GET',
      effect: 'read',
      path: '/users/{user}',
      inputSchema: objectSchema({ user: ID }, ['user']),
      output: USER_FIELDS,
      outputSchema: USER_OUTPUT,
    },
  ],
};

export const AI_APPLICATION_CONNECTOR_TYPE: ConnectorTypeDefinition =
  presetConnectorType(AI_APPLICATION);
