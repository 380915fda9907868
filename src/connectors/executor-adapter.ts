import type { ExecutorConnectors } from '../pipeline/playbook-executor.js';
import type { ConnectorRegistry } from './connector-config.js';

/** The registry's connectors, as the playbook executor calls them. */
export function executorConnectors(registry: ConnectorRegistry): ExecutorConnectors {
  return {
    async call(name, request) {
      const result = await registry.get(name).invoke(request);
      return result.exchange === undefined
        ? { output: result.output }
        : { output: result.output, exchange: result.exchange };
    },
    async reconcile(name, request) {
      const connector = registry.get(name);
      const answer = connector.reconcile
        ? await connector.reconcile(request)
        : { state: 'unknown' as const };
      if (answer.state !== 'done') return { state: answer.state };
      return {
        state: 'done',
        output: answer.result.output,
        ...(answer.result.exchange === undefined ? {} : { exchange: answer.result.exchange }),
      };
    },
  };
}
