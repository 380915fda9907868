import { isDeepStrictEqual } from 'node:util';
import type { NormalizedAlert } from '../core/alert.js';
import { closeCase, openCaseFor, type Case } from '../core/case.js';
import type { ContainmentPolicy } from '../core/containment-policy.js';
import { correlationKeysOf } from '../core/correlation.js';
import { WardenError } from '../core/errors.js';
import type { InventoryIndex } from '../core/inventory.js';
import { AlertPreparer } from '../pipeline/alert-preparer.js';
import { normalizePayload } from '../sources/source-registry.js';
import { applyCaseStep } from './case-step.js';
import type { JsonValue, Playbook, PlaybookTest } from './playbook.js';
import {
  resumeRun,
  startRun,
  type Advance,
  type RunEnvironment,
  type StepOutcome,
  type TraceEvent,
} from './run-machine.js';

/**
 * Runs a playbook's inline tests on the same run machine production uses,
 * with the test's canned connector responses and approval answers instead of
 * real calls: no connector is called, nothing is stored.
 *
 * A step the test gives no response for is answered by the context's local
 * connectors when it names one (the in-memory `inventory` lookups), and
 * otherwise succeeds with an empty map as output, so a test only spells out
 * the responses its branches depend on.
 */
export interface PlaybookTestContext {
  inventory: InventoryIndex;
  policy: ContainmentPolicy;
  /** Every loaded playbook, for `playbook:` steps. */
  playbooks: ReadonlyMap<string, Playbook>;
  /** Reads a test's `alert_file` (the path is absolute). */
  readAlertFile: (path: string) => unknown;
  /** @default 2026-01-01T00:00:00Z, so runs are reproducible */
  now?: Date;
  /**
   * Connectors safe to call for real in a test (no side effects, no network),
   * by name: e.g. `inventory`.
   */
  localConnectors?: ReadonlyMap<string, (action: string, input: JsonValue) => Promise<JsonValue>>;
}

export interface RecordedAction {
  step: string;
  input: JsonValue;
}

export interface PlaybookTestResult {
  playbook: string;
  test: string;
  passed: boolean;
  /** Why it failed, one line each. */
  failures: string[];
  /** Step ids that ran, in order. */
  steps: string[];
  actions: RecordedAction[];
  status: 'succeeded' | 'failed';
  case: Case;
  /** Why the run went the way it did: every step, branch and policy decision. */
  trace: TraceEvent[];
}

const DEFAULT_NOW = new Date('2026-01-01T00:00:00.000Z');
/** Commands a test run may take before it is declared stuck. */
const COMMAND_LIMIT = 1000;

export async function runPlaybookTest(
  playbook: Playbook,
  test: PlaybookTest,
  context: PlaybookTestContext,
): Promise<PlaybookTestResult> {
  const now = context.now ?? DEFAULT_NOW;
  const payload =
    test.alert.kind === 'inline' ? test.alert.payload : context.readAlertFile(test.alert.path);
  const encoded = new AlertPreparer(context.inventory, () => now).prepare(
    normalizePayload(payload),
  );
  const alert: NormalizedAlert = { ...encoded.alert, raw: payload };
  const testCase = openCaseFor(alert, correlationKeysOf(alert), {
    id: 'playbook-test-case',
    number: 1,
    now: now.toISOString(),
  });
  if (playbook.trigger.on === 'case_closed') {
    // As the server runs it: after the close, on the closed case.
    closeCase(testCase, test.closedAs ?? 'true_positive_contained', null, now.toISOString());
  }
  const env: RunEnvironment = { alert, case: testCase, policy: context.policy };
  const actions: RecordedAction[] = [];
  const trace: TraceEvent[] = [];
  const run = await drive(playbook, env, test, context, actions, trace, new Set([playbook.id]));

  const failures: string[] = [];
  const expected = test.expect;
  if (expected.steps && !isDeepStrictEqual(run.state.path, expected.steps)) {
    failures.push(
      `steps: expected ${expected.steps.join(' → ')}, ran ${run.state.path.join(' → ') || '(none)'}`,
    );
  }
  if (expected.actions) {
    const wanted = expected.actions;
    if (wanted.length !== actions.length) {
      failures.push(
        `actions: expected ${wanted.length} (${wanted.map((a) => a.step).join(', ')}), ` +
          `made ${actions.length} (${actions.map((a) => a.step).join(', ')})`,
      );
    }
    wanted.forEach((want, i) => {
      const made = actions[i];
      if (!made) return;
      if (made.step !== want.step) {
        failures.push(`actions[${i}]: expected a call by step ${want.step}, got ${made.step}`);
      } else if (want.input !== undefined && !isDeepStrictEqual(made.input, want.input)) {
        failures.push(
          `actions[${i}] (${want.step}): expected input ${JSON.stringify(want.input)}, ` +
            `got ${JSON.stringify(made.input)}`,
        );
      }
    });
  }
  for (const [field, value] of Object.entries(expected.case ?? {})) {
    const actual = (testCase as unknown as Record<string, unknown>)[field];
    if (!isDeepStrictEqual(actual, value)) {
      failures.push(
        `case.${field}: expected ${JSON.stringify(value)}, got ${JSON.stringify(actual)}`,
      );
    }
  }
  return {
    playbook: playbook.id,
    test: test.name,
    passed: failures.length === 0,
    failures,
    steps: run.state.path,
    actions,
    status: run.command.kind === 'finish' ? run.command.status : 'failed',
    case: testCase,
    trace,
  };
}

/** Runs one playbook to its end, answering every command from the test. */
async function drive(
  playbook: Playbook,
  env: RunEnvironment,
  test: PlaybookTest,
  context: PlaybookTestContext,
  actions: RecordedAction[],
  trace: TraceEvent[],
  callers: ReadonlySet<string>,
  inputs: Record<string, JsonValue> = {},
): Promise<Advance> {
  let advance = startRun(playbook, env, inputs);
  trace.push(...advance.trace);
  for (let n = 0; advance.command.kind !== 'finish'; n += 1) {
    if (n >= COMMAND_LIMIT) {
      throw new WardenError('internal', `test "${test.name}" did not finish after ${n} commands`);
    }
    const outcome = await answer(advance, env, test, context, actions, trace, callers);
    advance = resumeRun(playbook, advance.state, env, outcome);
    trace.push(...advance.trace);
  }
  return advance;
}

async function answer(
  { command }: Advance,
  env: RunEnvironment,
  test: PlaybookTest,
  context: PlaybookTestContext,
  actions: RecordedAction[],
  trace: TraceEvent[],
  callers: ReadonlySet<string>,
): Promise<StepOutcome> {
  const now = (context.now ?? DEFAULT_NOW).toISOString();
  switch (command.kind) {
    case 'call': {
      for (const call of command.calls) actions.push({ step: command.stepId, input: call.input });
      const response = test.responses[command.stepId];
      if (response && 'error' in response) {
        return {
          kind: 'failed',
          error: {
            code: response.error.code,
            message: response.error.message ?? `canned ${response.error.code} error`,
            retryable: response.error.retryable,
          },
        };
      }
      const local = response ? undefined : context.localConnectors?.get(command.connector);
      const outputs: JsonValue[] = [];
      for (const call of command.calls) {
        if (response) outputs.push(response.output);
        else if (local) {
          try {
            outputs.push(await local(command.action, call.input));
          } catch (error) {
            const e = error as { code?: string; message?: string; retryable?: boolean };
            return {
              kind: 'failed',
              error: {
                code: e.code ?? 'internal',
                message: e.message ?? String(error),
                retryable: e.retryable ?? false,
              },
            };
          }
        } else outputs.push({});
      }
      return {
        kind: 'succeeded',
        output:
          command.calls.length === 1 && command.calls[0]?.item === null
            ? (outputs[0] ?? null)
            : outputs,
      };
    }
    case 'approval': {
      const given = test.approvals[command.stepId];
      if (given === 'approved' || given === 'denied') {
        return {
          kind: 'answered',
          answer: {
            approved: given === 'approved',
            by: { name: 'playbook-test', role: command.approvers[0] ?? 'admin' },
          },
        };
      }
      return { kind: 'timed_out' };
    }
    case 'case':
      try {
        applyCaseStep(env.case, command.update, now);
        return { kind: 'succeeded' };
      } catch (error) {
        const e = error as WardenError;
        return {
          kind: 'failed',
          error: { code: e.code ?? 'internal', message: e.message, retryable: false },
        };
      }
    case 'playbook': {
      const response = test.responses[command.stepId];
      if (response) {
        return 'error' in response
          ? {
              kind: 'failed',
              error: { ...response.error, message: response.error.message ?? 'canned error' },
            }
          : { kind: 'succeeded', output: response.output };
      }
      const callee = context.playbooks.get(command.playbook);
      if (!callee || callers.has(command.playbook)) {
        return {
          kind: 'failed',
          error: {
            code: 'unknown_playbook',
            message: `no playbook ${command.playbook}`,
            retryable: false,
          },
        };
      }
      const outputs: JsonValue[] = [];
      for (const call of command.calls) {
        const child = await drive(
          callee,
          env,
          test,
          context,
          actions,
          trace,
          new Set([...callers, callee.id]),
          call.inputs,
        );
        if (child.command.kind === 'finish' && child.command.status === 'failed') {
          return {
            kind: 'failed',
            error: child.command.error ?? {
              code: 'playbook_failed',
              message: `${callee.id} failed`,
              retryable: false,
            },
          };
        }
        outputs.push({ playbook: callee.id, steps: child.state.path });
      }
      return {
        kind: 'succeeded',
        output:
          command.calls.length === 1 && command.calls[0]?.item === null
            ? (outputs[0] ?? null)
            : outputs,
      };
    }
    case 'wait':
      return { kind: 'waited' };
    case 'finish':
      throw new WardenError('internal', 'a finished run has no command to answer');
  }
}
