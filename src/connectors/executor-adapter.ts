import type { CallResult, ExecutorConnectors } from '../pipeline/playbook-executor.js';
import type { ConnectorResult } from './connector.js';
import type { ConnectorRegistry } from './connector-config.js';

/** The registry's connectors, as the playbook executor calls them. */
export function executorConnectors(registry: ConnectorRegistry): ExecutorConnectors {
  return {
    async call(name, request) {
      return callResult(await registry.get(name).invoke(request));
    },
    actionsOf: (name) => (registry.has(name) ? Object.keys(registry.get(name).actions) : []),
    async reconcile(name, request) {
      const connector = registry.get(name);
      const answer = connector.reconcile
        ? await connector.reconcile(request)
        : { state: 'unknown' as const };
      if (answer.state !== 'done') return { state: answer.state };
      return { state: 'done', ...callResult(answer.result) };
    },
  };
}

function callResult(result: ConnectorResult): CallResult {
  return {
    output: result.output,
    ...(result.exchange === undefined ? {} : { exchange: result.exchange }),
    ...(result.openc2 === undefined ? {} : { openc2: result.openc2 }),
  };
}
