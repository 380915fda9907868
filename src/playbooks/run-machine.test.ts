import { describe, expect, it } from 'vitest';
import { emptyObservables, type NormalizedAlert } from '../core/alert.js';
import { openCaseFor } from '../core/case.js';
import { BUILTIN_CONTAINMENT_POLICY } from '../core/containment-policy.js';
import { correlationKeysOf } from '../core/correlation.js';
import { parsePlaybook } from './playbook-loader.js';
import {
  resumeRun,
  startRun,
  type Advance,
  type RunCommand,
  type RunEnvironment,
  type StepOutcome,
  type TraceEvent,
} from './run-machine.js';

function alert(tier: 1 | 2 | 3 | undefined = 2): NormalizedAlert {
  return {
    id: 'alert-1',
    dedupKey: 'k',
    source: { format: 'native', product: 'p', vendor: 'v' },
    type: 'inference_spike',
    title: 'spike',
    severityId: 3,
    severity: 'Medium',
    firstSeen: '2026-01-01T00:00:00.000Z',
    lastSeen: '2026-01-01T00:00:00.000Z',
    receivedAt: '2026-01-01T00:00:00.000Z',
    count: 1,
    observables: { ...emptyObservables(), ips: ['203.0.113.7', '198.51.100.9'] },
    atlasTechniques: [],
    enrichment: {
      blastRadius: [],
      allowlisted: [],
      ...(tier ? { tier, modelId: 'm', businessUnit: 'u', owner: 'o@example.com' } : {}),
    },
    raw: {},
  };
}

function env(tier: 1 | 2 | 3 | undefined = 2): RunEnvironment {
  const a = alert(tier);
  return {
    alert: a,
    case: openCaseFor(a, correlationKeysOf(a), { id: 'c1', number: 7, now: a.receivedAt }),
    policy: BUILTIN_CONTAINMENT_POLICY,
  };
}

function playbook(...steps: string[]) {
  const text = [
    'id: t',
    'version: 1',
    'title: T',
    'owner: o@example.com',
    'trigger: { types: [inference_spike] }',
    'steps:',
    ...steps,
  ].join('\n');
  return parsePlaybook(`${text}\n`, 'playbooks/t.yaml');
}

/** Answers commands in order until the run finishes; returns every command seen. */
function run(
  pb: ReturnType<typeof playbook>,
  environment: RunEnvironment,
  answers: ((command: RunCommand) => StepOutcome)[],
): { commands: RunCommand[]; last: Advance; trace: TraceEvent[] } {
  let advance = startRun(pb, environment);
  const commands: RunCommand[] = [advance.command];
  const trace: TraceEvent[] = [...advance.trace];
  while (advance.command.kind !== 'finish') {
    const answer = answers.shift();
    if (!answer) throw new Error(`no answer for ${JSON.stringify(advance.command)}`);
    advance = resumeRun(pb, advance.state, environment, answer(advance.command));
    commands.push(advance.command);
    trace.push(...advance.trace);
  }
  return { commands, last: advance, trace };
}

const ok =
  (output: unknown = {}) =>
  (): StepOutcome => ({
    kind: 'succeeded',
    output: output as never,
  });
const failWith = (code: string, retryable: boolean, retryAfterMs?: number) => (): StepOutcome => ({
  kind: 'failed',
  error: { code, message: code, retryable, ...(retryAfterMs ? { retryAfterMs } : {}) },
});
const waited = (): StepOutcome => ({ kind: 'waited' });

const INTEL = [
  '  - id: intel',
  '    enrich: { connector: ti, action: lookup, input: { ip: "${{ alert.observables.ips[0] }}" } }',
];

describe('run machine', () => {
  it('renders inputs with their types and chooses a branch, tracing the conditions', () => {
    const pb = playbook(
      ...INTEL,
      '  - id: pick',
      '    decide:',
      '      - when: "steps.intel.output.score > 50.0"',
      '        goto: high',
      '      - default: low',
      '  - id: low',
      '    case: { note: "low" }',
      '    goto: end',
      '  - id: high',
      '    case: { note: "score ${{ steps.intel.output.score }} on case #${{ case.number }}" }',
    );
    const { commands, last } = run(pb, env(), [ok({ score: 80 }), ok()]);
    expect(commands[0]).toMatchObject({
      kind: 'call',
      stepId: 'intel',
      calls: [{ item: null, input: { ip: '203.0.113.7' } }],
      attempt: 1,
    });
    expect(commands[1]).toEqual({
      kind: 'case',
      stepId: 'high',
      update: { note: 'score 80 on case #7' },
    });
    expect(last.state.path).toEqual(['intel', 'pick', 'high']);
    expect(last.state.steps.low).toEqual({ status: 'pending' });
    expect(last.command).toMatchObject({ kind: 'finish', status: 'succeeded' });
  });

  it('retries with exponential backoff capped at max, honours Retry-After, then follows on_error', () => {
    const pb = playbook(
      ...INTEL,
      '    retry: { count: 3, backoff: { initial: 1s, max: 3s, factor: 2 } }',
      '    on_error: { goto: fallback }',
      '  - id: unreached',
      '    case: { note: x }',
      '  - id: fallback',
      '    case: { note: "intel failed: ${{ steps.intel.error.code }}" }',
    );
    const { commands, last } = run(pb, env(), [
      failWith('unavailable', true),
      waited,
      failWith('rate_limited', true, 10_000),
      waited,
      failWith('unavailable', true),
      waited,
      failWith('unavailable', true),
      ok(),
    ]);
    const waits = commands
      .filter((c) => c.kind === 'wait')
      .map((c) => c.kind === 'wait' && c.delayMs);
    expect(waits).toEqual([1000, 10_000, 3000]);
    const attempts = commands
      .filter((c) => c.kind === 'call')
      .map((c) => c.kind === 'call' && c.attempt);
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(commands.at(-2)).toMatchObject({
      kind: 'case',
      update: { note: 'intel failed: unavailable' },
    });
    expect(last.state.path).toEqual(['intel', 'fallback']);
  });

  it('does not retry an error that is not retryable, or not listed in retry.on', () => {
    const pb = playbook(
      ...INTEL,
      '    retry: { count: 3, on: [rate_limited] }',
      '    on_error: continue',
      '  - id: after',
      '    case: { note: x }',
    );
    const { commands } = run(pb, env(), [failWith('unavailable', true), ok()]);
    expect(commands.map((c) => c.kind)).toEqual(['call', 'case', 'finish']);
  });

  it('fails the run when a step fails and on_error is fail (the default)', () => {
    const pb = playbook(...INTEL, '  - id: after', '    case: { note: x }');
    const { last } = run(pb, env(), [failWith('rejected', false)]);
    expect(last.command).toMatchObject({
      kind: 'finish',
      status: 'failed',
      error: { code: 'rejected', stepId: 'intel' },
    });
    expect(last.state.status).toBe('failed');
  });

  it('skips a step whose when is false, and runs a for_each step once per item', () => {
    const pb = playbook(
      '  - id: never',
      '    when: "size(alert.observables.ips) > 5"',
      '    case: { note: x }',
      '  - id: each',
      '    for_each: "alert.observables.ips"',
      '    concurrency: 2',
      '    enrich: { connector: ti, action: lookup, input: { ip: "${{ item }}" } }',
    );
    const { commands, last } = run(pb, env(), [ok([{ a: 1 }, { a: 2 }])]);
    expect(commands[0]).toMatchObject({
      kind: 'call',
      concurrency: 2,
      calls: [
        { item: 0, input: { ip: '203.0.113.7' } },
        { item: 1, input: { ip: '198.51.100.9' } },
      ],
    });
    expect(last.state.steps.never).toEqual({ status: 'skipped' });
    expect(last.state.path).toEqual(['each']);
  });

  it('turns a failing expression into a step failure that on_error handles', () => {
    const pb = playbook(
      '  - id: bad',
      '    enrich: { connector: ti, action: lookup, input: { ip: "${{ alert.observables.ips[9] }}" } }',
      '    on_error: continue',
      '  - id: after',
      '    case: { note: "${{ steps.bad.status }}" }',
    );
    const { commands } = run(pb, env(), [ok()]);
    expect(commands[0]).toMatchObject({ kind: 'case', update: { note: 'failed' } });
  });

  describe('containment policy on act steps', () => {
    const BLOCK = [
      '  - id: block',
      '    act: { connector: fw, action: deny, intent: block_source, input: { ip: "${{ alert.observables.ips[0] }}", mode: "${{ policy.mode }}" } }',
    ];

    it('acts at once where the policy says automatic, binding the decision as policy', () => {
      const { commands } = run(playbook(...BLOCK), env(3), [ok()]);
      expect(commands[0]).toMatchObject({
        kind: 'call',
        stepKind: 'act',
        calls: [{ input: { ip: '203.0.113.7', mode: 'automatic' } }],
        decision: { mode: 'automatic' },
      });
    });

    it('asks the policy’s approvers first on a tier-1 model, and acts once approved', () => {
      const { commands } = run(playbook(...BLOCK), env(1), [
        () => ({
          kind: 'answered',
          answer: { approved: true, by: { name: 'rita', role: 'responder' } },
        }),
        ok(),
      ]);
      expect(commands[0]).toMatchObject({
        kind: 'approval',
        stepId: 'block',
        forPolicy: true,
        approvers: ['responder', 'admin'],
      });
      expect(commands[1]).toMatchObject({ kind: 'call', calls: [{ input: { mode: 'approval' } }] });
    });

    it('does not ask twice when an approval step earlier in the run was answered by an approver', () => {
      const pb = playbook(
        '  - id: ask',
        '    approval: { approvers: [responder], message: "block?", timeout: 1h }',
        ...BLOCK,
      );
      const { commands, trace } = run(pb, env(1), [
        () => ({
          kind: 'answered',
          answer: { approved: true, by: { name: 'rita', role: 'responder' } },
        }),
        ok(),
      ]);
      expect(commands.map((c) => c.kind)).toEqual(['approval', 'call', 'finish']);
      expect(trace.find((t) => t.kind === 'policy')).toMatchObject({
        satisfiedBy: 'ask (approved by rita)',
      });
    });

    it('a denied policy approval fails the act step', () => {
      const { last } = run(playbook(...BLOCK), env(1), [
        () => ({
          kind: 'answered',
          answer: { approved: false, by: { name: 'rita', role: 'admin' } },
        }),
      ]);
      expect(last.command).toMatchObject({ status: 'failed', error: { code: 'approval_denied' } });
    });

    it('skips an act the policy forbids, saying why', () => {
      const pb = playbook(
        '  - id: rollback',
        '    act: { connector: reg, action: rollback, intent: rollback_model, input: {} }',
      );
      // A policy that lists no rollback for tier-2 models forbids it there.
      const strict: RunEnvironment = {
        ...env(2),
        policy: {
          defaults: {
            tier2: { automatic: [], approval: [], notifyOnly: [], approvers: ['admin'] },
          },
          types: {},
        },
      };
      const { commands, last, trace } = run(pb, strict, []);
      expect(commands).toHaveLength(1);
      expect(last.state.steps.rollback).toMatchObject({
        status: 'skipped',
        output: { policy: 'forbidden' },
      });
      expect(last.state.path).toEqual([]);
      expect(trace.find((t) => t.kind === 'step_skipped')).toMatchObject({
        reason: expect.stringContaining('does not allow rollback_model') as string,
      });
    });
  });

  describe('approval steps', () => {
    const ASK = (onTimeout: string) => [
      '  - id: ask',
      `    approval: { approvers: [responder], message: "ok for #\${{ case.number }}?", timeout: 30m, on_timeout: ${onTimeout}${onTimeout === 'escalate' ? ', escalate_to: [admin]' : ''} }`,
      '    on_error: continue',
      '  - id: after',
      '    case: { note: "${{ steps.ask.status }}" }',
    ];
    const timedOut = (): StepOutcome => ({ kind: 'timed_out' });

    it('renders the message and waits', () => {
      const { commands } = run(playbook(...ASK('deny')), env(), [timedOut, ok()]);
      expect(commands[0]).toEqual({
        kind: 'approval',
        stepId: 'ask',
        approvers: ['responder'],
        message: 'ok for #7?',
        timeoutMs: 30 * 60_000,
        forPolicy: false,
      });
      expect(commands[1]).toMatchObject({ update: { note: 'failed' } });
    });

    it('on_timeout approve approves', () => {
      const { commands } = run(playbook(...ASK('approve')), env(), [timedOut, ok()]);
      expect(commands[1]).toMatchObject({ update: { note: 'succeeded' } });
    });

    it('on_timeout escalate asks the escalation roles once, then denies', () => {
      const { commands } = run(playbook(...ASK('escalate')), env(), [timedOut, timedOut, ok()]);
      expect(commands[1]).toMatchObject({ kind: 'approval', approvers: ['admin'] });
      expect(commands[2]).toMatchObject({ update: { note: 'failed' } });
    });
  });

  it('ends a run that loops forever with step_limit instead of hanging', () => {
    const pb = playbook('  - id: spin', '    goto: spin');
    const { last } = run(pb, env(), []);
    expect(last.command).toMatchObject({ status: 'failed', error: { code: 'step_limit' } });
  });

  it('does not mutate the state it resumes from, so a stored state can be replayed', () => {
    const pb = playbook(...INTEL, '  - id: after', '    case: { note: x }');
    const first = startRun(pb, env());
    const before = JSON.stringify(first.state);
    const a = resumeRun(pb, first.state, env(), { kind: 'succeeded', output: { x: 1 } });
    const b = resumeRun(pb, first.state, env(), { kind: 'succeeded', output: { x: 1 } });
    expect(JSON.stringify(first.state)).toBe(before);
    expect(a.state).toEqual(b.state);
    expect(a.command).toEqual(b.command);
  });

  it('leaves every earlier state as it was through approvals, retries and outputs', () => {
    const pb = playbook(
      '  - id: intel',
      '    enrich: { connector: ti, action: lookup, input: {} }',
      '    retry: { count: 2, backoff: { initial: 1s, max: 3s, factor: 2 } }',
      '  - id: ask',
      '    approval: { approvers: [responder], message: m, timeout: 30m }',
      '  - id: after',
      '    case: { note: "${{ steps.intel.output.score }}" }',
    );
    const answered: StepOutcome = {
      kind: 'answered',
      answer: { approved: true, by: { name: 'rita', role: 'responder' } },
    };
    const outcomes: StepOutcome[] = [
      { kind: 'failed', error: { code: 'unavailable', message: 'down', retryable: true } },
      { kind: 'waited' },
      { kind: 'succeeded', output: { score: 7, tags: ['a'] } },
      answered,
      { kind: 'succeeded' },
    ];
    const states: { state: Advance['state']; json: string }[] = [];
    let advance = startRun(pb, env());
    for (const outcome of outcomes) {
      states.push({ state: advance.state, json: JSON.stringify(advance.state) });
      advance = resumeRun(pb, advance.state, env(), outcome);
    }
    expect(advance.command.kind).toBe('finish');
    expect(advance.state.path).toEqual(['intel', 'ask', 'after']);
    for (const { state, json } of states) expect(JSON.stringify(state)).toBe(json);
  });
});
