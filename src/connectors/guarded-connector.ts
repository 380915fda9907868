import type { ValidateFunction } from 'ajv/dist/2020.js';
import { compileActionSchema, describeSchemaErrors } from './action-schema.js';
import { ConcurrencyLimit, TokenBucket } from './call-limits.js';
import {
  ConnectorError,
  toConnectorError,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorResult,
  type Reconciliation,
} from './connector.js';

/**
 * What every connector gets without writing it: unknown actions and invalid
 * input rejected before anything is sent, output checked against the
 * action's schema, the declared concurrency and rate limit enforced, any
 * thrown value normalised to a `ConnectorError`, and `reconcile` answered
 * for read actions (always safe to repeat) and for connectors without one
 * (`unknown`). The registry hands out only guarded connectors.
 */
export function guardConnector(connector: Connector): Connector {
  if (guarded.has(connector)) return connector;
  const result = new GuardedConnector(connector);
  guarded.add(result);
  return result;
}

const guarded = new WeakSet<Connector>();

interface CompiledAction {
  readonly spec: ConnectorActionSpec;
  readonly input: ValidateFunction;
  readonly output: ValidateFunction;
}

class GuardedConnector implements Connector {
  readonly name: string;
  readonly type: string;
  readonly actions: Connector['actions'];
  readonly concurrency: number;
  readonly rateLimit: Connector['rateLimit'];
  private readonly compiled = new Map<string, CompiledAction>();
  private readonly slots: ConcurrencyLimit;
  private readonly bucket: TokenBucket | undefined;

  constructor(private readonly inner: Connector) {
    this.name = inner.name;
    this.type = inner.type;
    this.actions = inner.actions;
    this.concurrency = inner.concurrency;
    this.rateLimit = inner.rateLimit;
    if (!Number.isInteger(inner.concurrency) || inner.concurrency < 1) {
      throw new Error(`connector ${inner.name}: concurrency must be a positive integer`);
    }
    for (const [name, spec] of Object.entries(inner.actions)) {
      const compile = (kind: string, schema: ConnectorActionSpec['inputSchema']) => {
        try {
          return compileActionSchema(schema);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          throw new Error(`connector ${inner.name}: action ${name}: ${kind} schema: ${reason}`, {
            cause: error,
          });
        }
      };
      this.compiled.set(name, {
        spec,
        input: compile('input', spec.inputSchema),
        output: compile('output', spec.outputSchema),
      });
    }
    this.slots = new ConcurrencyLimit(inner.concurrency);
    this.bucket = inner.rateLimit ? new TokenBucket(inner.rateLimit) : undefined;
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const action = this.checkedAction(call);
    const result = await this.limited(call, () => this.inner.invoke(call));
    this.checkOutput(action, result);
    return result;
  }

  async reconcile(call: ConnectorCall): Promise<Reconciliation> {
    const action = this.action(call.action);
    // A call with invalid input is rejected before it is sent, so it never took effect.
    if (!action.input(call.input)) return { state: 'not_done' };
    if (action.spec.effect === 'read') return { state: 'not_done' };
    const reconcile = this.inner.reconcile?.bind(this.inner);
    if (reconcile === undefined) return { state: 'unknown' };
    try {
      const answer = await this.limited(call, () => reconcile(call));
      if (answer.state === 'done') this.checkOutput(action, answer.result);
      return answer;
    } catch (error) {
      return { state: 'unknown', error: toConnectorError(error, this.where(call)) };
    }
  }

  private action(name: string): CompiledAction {
    const action = this.compiled.get(name);
    if (action) return action;
    const known = [...this.compiled.keys()].join(', ') || 'none';
    throw new ConnectorError(
      'unknown_action',
      `${this.name}: no action "${name}" (actions: ${known})`,
    );
  }

  private checkedAction(call: ConnectorCall): CompiledAction {
    const action = this.action(call.action);
    if (!action.input(call.input)) {
      const problems = describeSchemaErrors(action.input.errors ?? [], 'input');
      throw new ConnectorError('invalid_input', `${this.where(call)}: ${problems}`);
    }
    return action;
  }

  private checkOutput(action: CompiledAction, result: ConnectorResult): void {
    if (action.output(result.output)) return;
    const problems = describeSchemaErrors(action.output.errors ?? [], 'output');
    throw new ConnectorError('invalid_output', `${this.name}.${action.spec.name}: ${problems}`, {
      ...(result.exchange === undefined ? {} : { exchange: result.exchange }),
    });
  }

  /** Runs `body` inside the concurrency and rate limits; errors come out normalised. */
  private async limited<T>(call: ConnectorCall, body: () => Promise<T>): Promise<T> {
    let release: (() => void) | undefined;
    try {
      release = await this.slots.acquire(call.signal);
      await this.bucket?.take(call.signal);
    } catch (error) {
      release?.();
      throw new ConnectorError(
        'timeout',
        `${this.where(call)}: the deadline passed while waiting for the connector's concurrency or rate limit`,
        { cause: error },
      );
    }
    try {
      return await body();
    } catch (error) {
      throw toConnectorError(error, this.where(call));
    } finally {
      release();
    }
  }

  private where(call: ConnectorCall): string {
    return `${this.name}.${call.action}`;
  }
}
