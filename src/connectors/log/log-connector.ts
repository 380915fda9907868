import {
  ConnectorError,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorResult,
  type JsonValue,
  type Reconciliation,
} from '../connector.js';
import { notifyAction } from '../notify-action.js';

/**
 * Where the log connector writes: one JSON text per call, without a line
 * break. Tests pass `{ write: (line) => lines.push(line) }`; production a
 * stream wrapper that appends "\n".
 */
export interface LogSink {
  write(line: string): void | Promise<void>;
}

/** A sink writing one line per call to a stream, e.g. `streamLogSink(process.stdout)`. */
export function streamLogSink(stream: NodeJS.WritableStream): LogSink {
  return {
    write(line) {
      stream.write(`${line}\n`);
    },
  };
}

/** The line written for a call. */
export interface LogLine {
  time: string;
  connector: string;
  action: string;
  idempotencyKey: string;
  level: LogLevel;
  message: string;
  to?: string;
  fields?: { [key: string]: JsonValue };
}

export const LOG_LEVELS = ['info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const OUTPUT_SCHEMA = {
  type: 'object',
  properties: { written: { type: 'boolean' }, time: { type: 'string' } },
  required: ['written', 'time'],
  additionalProperties: false,
};

const ACTIONS: Record<string, ConnectorActionSpec> = {
  write: {
    name: 'write',
    description: 'Appends a JSON line with a message and optional structured fields.',
    effect: 'write',
    inputSchema: {
      type: 'object',
      properties: {
        message: { type: 'string', minLength: 1 },
        level: { enum: [...LOG_LEVELS] },
        fields: { type: 'object' },
      },
      required: ['message'],
      additionalProperties: false,
    },
    outputSchema: OUTPUT_SCHEMA,
  },
  ...notifyAction(
    'What notify steps call: appends a JSON line with the message and recipient.',
    OUTPUT_SCHEMA,
  ),
};

export interface LogConnectorOptions {
  sink: LogSink;
  /** @default 'log' */
  name?: string;
  /** How many idempotency keys are remembered. @default 10000 */
  rememberKeys?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

/**
 * Writes lines to a sink. Idempotent by key within the process: a repeated
 * key returns the first call's result without writing again (concurrent
 * repeats wait for the first). Each line carries its key, so a reader can
 * drop the rare duplicate a crash and restart may leave.
 */
export function createLogConnector(options: LogConnectorOptions): Connector {
  return new LogConnector(options);
}

class LogConnector implements Connector {
  readonly type = 'log';
  readonly name: string;
  readonly actions = ACTIONS;
  readonly concurrency = 16;
  private readonly sink: LogSink;
  private readonly rememberKeys: number;
  private readonly now: () => Date;
  // Map order is insertion order: the first entries are the oldest, evicted first.
  private readonly calls = new Map<string, Promise<ConnectorResult>>();

  constructor(options: LogConnectorOptions) {
    this.sink = options.sink;
    this.name = options.name ?? 'log';
    this.rememberKeys = options.rememberKeys ?? 10_000;
    this.now = options.now ?? (() => new Date());
  }

  invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const earlier = this.calls.get(call.idempotencyKey);
    if (earlier) return earlier;
    const pending = this.write(call);
    this.calls.set(call.idempotencyKey, pending);
    pending.catch(() => this.calls.delete(call.idempotencyKey));
    while (this.calls.size > this.rememberKeys) {
      const oldest = this.calls.keys().next().value;
      if (oldest === undefined) break;
      this.calls.delete(oldest);
    }
    return pending;
  }

  /**
   * A key seen in this process is done. One not seen may have been written
   * before a restart; writing it again at worst duplicates a line that
   * carries the same key, so it is reported as not done.
   */
  async reconcile(call: ConnectorCall): Promise<Reconciliation> {
    const earlier = this.calls.get(call.idempotencyKey);
    if (earlier === undefined) return { state: 'not_done' };
    try {
      return { state: 'done', result: await earlier };
    } catch {
      return { state: 'not_done' };
    }
  }

  private async write(call: ConnectorCall): Promise<ConnectorResult> {
    const input = call.input as {
      message: string;
      level?: LogLevel;
      to?: string;
      fields?: LogLine['fields'];
    };
    const time = this.now().toISOString();
    const line: LogLine = {
      time,
      connector: this.name,
      action: call.action,
      idempotencyKey: call.idempotencyKey,
      level: input.level ?? 'info',
      message: input.message,
      ...(input.to === undefined ? {} : { to: input.to }),
      ...(input.fields === undefined ? {} : { fields: input.fields }),
    };
    try {
      await this.sink.write(JSON.stringify(line));
    } catch (error) {
      throw new ConnectorError(
        'unavailable',
        `${this.name}.${call.action}: the log sink failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    return { output: { written: true, time } };
  }
}
