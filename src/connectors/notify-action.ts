import { NOTIFY_ACTION, type ConnectorActionSpec, type JsonSchema } from './connector.js';

/** The input every `notify` action takes: what notify steps send. */
export const NOTIFY_INPUT_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { message: { type: 'string', minLength: 1 }, to: { type: 'string' } },
  required: ['message'],
  additionalProperties: false,
};

/**
 * A connector's `notify` action (a write, as every notification is), keyed
 * by its name for an actions record; `description` says what this
 * connector does with the message and `to`.
 */
export function notifyAction(
  description: string,
  outputSchema: JsonSchema,
): Record<typeof NOTIFY_ACTION, ConnectorActionSpec> {
  return {
    [NOTIFY_ACTION]: {
      name: NOTIFY_ACTION,
      description,
      effect: 'write',
      inputSchema: NOTIFY_INPUT_SCHEMA,
      outputSchema,
    },
  };
}
