import { withDeadline } from '../core/deadline.js';
import type { InventoryIndex } from '../core/inventory.js';
import type { JsonValue } from '../playbooks/playbook.js';
import { guardConnector } from './guarded-connector.js';
import { createInventoryConnector } from './inventory/inventory-connector.js';

/**
 * Connectors safe to call for real in a playbook test or dry run: no side
 * effects, no network. Today that is the in-memory `inventory` lookups.
 */
export function localConnectors(
  inventory: InventoryIndex,
): Map<string, (action: string, input: JsonValue) => Promise<JsonValue>> {
  const connector = guardConnector(createInventoryConnector(inventory));
  return new Map([
    [
      connector.name,
      async (action: string, input: JsonValue) =>
        (
          await withDeadline(5000, (signal) =>
            connector.invoke({ action, input, idempotencyKey: 'local', attempt: 1, signal }),
          )
        ).output,
    ],
  ]);
}
