import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openCaseFor } from '../core/case.js';
import { WardenError } from '../core/errors.js';
import { pendingStepResults } from './expressions.js';
import { sampleSpikeAlert } from './sample-alert.test-support.js';
import {
  checkPlaybooks,
  compilePlaybooks,
  formatProblem,
  loadPlaybooks,
  readPlaybookSources,
  parsePlaybook,
  playbookProblemsOf,
  type PlaybookSource,
} from './playbook-loader.js';
import type { ExpressionContext, Playbook, Step, StepKind } from './playbook.js';

const TESTDATA = fileURLToPath(new URL('./testdata', import.meta.url));

/** YAML from lines, so that the line numbers in expectations are easy to read. */
const lines = (...text: string[]): string => `${text.join('\n')}\n`;

const HEADER = [
  'id: sample', //                      1
  'version: 1', //                      2
  'title: Sample', //                   3
  'owner: secops@example.com', //       4
  'trigger:', //                        5
  '  types: [inference_spike]', //      6
  'steps:', //                          7
];

/** The problems of one file, formatted as printed. */
function problemsOf(text: string, file = 'playbooks/x.yaml'): string[] {
  return checkPlaybooks([{ file, text }]).problems.map(formatProblem);
}

function stepOf<K extends StepKind>(
  playbook: Playbook,
  id: string,
  kind: K,
): Extract<Step, { kind: K }> {
  const step = playbook.steps.find((s) => s.id === id);
  expect(step?.kind).toBe(kind);
  return step as Extract<Step, { kind: K }>;
}

describe('the sample playbooks in testdata', () => {
  const playbooks = loadPlaybooks(TESTDATA);
  const byId = new Map(playbooks.map((p) => [p.id, p]));
  const spike = byId.get('inference-spike-external-range') as Playbook;
  const poisoned = byId.get('poisoned-dataset-upload') as Playbook;

  it('load in file-name order, every step kind among them', () => {
    expect(playbooks.map((p) => [p.id, p.version, p.steps.length, p.tests.length])).toEqual([
      ['federated-router', 2, 5, 1],
      ['inference-spike-external-range', 3, 7, 3],
      ['poisoned-dataset-upload', 1, 7, 1],
    ]);
    const kinds = new Set(playbooks.flatMap((p) => p.steps.map((s) => s.kind)));
    expect([...kinds].sort()).toEqual(
      ['act', 'approval', 'case', 'decide', 'enrich', 'goto', 'notify', 'playbook'].sort(),
    );
  });

  it('map the YAML onto the types', () => {
    expect(spike.source).toEqual({
      file: join(TESTDATA, 'inference-spike-external-range.yaml'),
      line: 4,
      column: 5,
    });
    expect(spike.trigger.types).toEqual(['inference_spike', 'cost_harvesting']);
    expect(spike.trigger.when?.source).toBe('size(alert.observables.ips) > 0');
    expect(spike.inputs).toEqual([
      {
        name: 'reason',
        type: 'string',
        required: false,
        default: 'inference spike from an external range',
        description: 'Why the range is blocked (shown in the gateway rule).',
      },
      { name: 'ttl_hours', type: 'number', required: false, default: 24 },
    ]);

    const intel = stepOf(spike, 'intel', 'enrich');
    expect(intel).toMatchObject({
      index: 0,
      connector: 'threat_intel',
      action: 'lookup_ip',
      timeoutMs: 10_000,
      retry: {
        count: 3,
        initialMs: 1000,
        maxMs: 30_000,
        factor: 2,
        on: ['rate_limited', 'unavailable'],
      },
      onError: { kind: 'continue' },
    });
    expect(intel.input.source).toEqual({ ip: '${{ alert.observables.ips[0] }}' });

    const external = stepOf(spike, 'external', 'decide');
    expect(external.branches.map((b) => [b.when.field, b.goto])).toEqual([
      ['steps[1].decide[0].when', 'close_benign'],
      ['steps[1].decide[1].when', 'approve_block'],
      ['steps[1].decide[2].when', 'block'],
    ]);
    expect(external.default).toBe('notify_owner');
    expect(external.goto).toBeUndefined();

    expect(stepOf(spike, 'approve_block', 'approval')).toMatchObject({
      approvers: ['responder', 'admin'],
      timeoutMs: 30 * 60_000,
      onTimeout: 'escalate',
      escalateTo: ['admin'],
      onError: { kind: 'goto', target: 'notify_owner' },
    });

    const block = stepOf(spike, 'block', 'act');
    expect(block).toMatchObject({
      intent: 'block_source',
      timeoutMs: 120_000,
      onError: { kind: 'fail' },
    });
    expect(block.retry).toEqual({ count: 2, initialMs: 1000, maxMs: 30_000, factor: 2 });
    expect(block.forEach?.items.source).toBe('case.observables.sourceRanges');
    expect(block.forEach?.concurrency).toBe(2);

    const close = stepOf(spike, 'close_benign', 'case');
    expect(close.close?.reason).toBe('benign');
    expect(close.goto).toBe('end');
    expect(stepOf(spike, 'contain', 'case')).toMatchObject({
      phase: 'containment',
      goto: 'notify_owner',
    });

    expect(spike.handoff.notifyOwner).toBe(true);
    expect(spike.handoff.evidence.map((e) => e.field)).toEqual(['handoff.evidence[0]']);

    expect(spike.tests[0]?.approvals).toEqual({ approve_block: 'approved' });
    expect(spike.tests[1]?.alert).toEqual({
      kind: 'file',
      path: join(TESTDATA, 'alerts', 'spike-from-scanner.json'),
    });
    expect(spike.tests[2]?.responses).toEqual({
      intel: { error: { code: 'unavailable', retryable: true } },
    });

    expect(stepOf(poisoned, 'scope', 'case')).toMatchObject({
      phase: 'containment',
      severity: 'High',
      status: 'in_progress',
    });
    const router = byId.get('federated-router') as Playbook;
    const spikeCall = stepOf(router, 'spike', 'playbook');
    expect(spikeCall).toMatchObject({ playbook: 'inference-spike-external-range', goto: 'end' });
    expect('timeoutMs' in spikeCall).toBe(false);
    expect(stepOf(router, 'poisoning', 'playbook').timeoutMs).toBe(6 * 3_600_000);
    expect(stepOf(router, 'done', 'goto').goto).toBe('end');
    expect(stepOf(router, 'unrouted', 'notify').to).toBeUndefined();
  });

  it('are deeply frozen', () => {
    const block = stepOf(spike, 'block', 'act');
    for (const value of [
      playbooks,
      spike,
      spike.steps,
      block,
      block.input,
      block.input.source,
      block.forEach,
      block.retry,
      spike.trigger.when,
      spike.tests[0]?.alert,
      spike.tests[0]?.expect.actions,
      spike.inputs[0],
    ]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
    expect(() => {
      (spike as { id: string }).id = 'changed';
    }).toThrow(TypeError);
    expect(() => (spike.steps as Step[]).push(block)).toThrow(TypeError);
  });

  it('render their templates for the runner', () => {
    const alert = sampleSpikeAlert();
    const context: ExpressionContext = {
      alert,
      case: openCaseFor(alert, [], { id: 'c1', number: 12, now: alert.receivedAt }),
      steps: {
        ...pendingStepResults(spike),
        intel: { status: 'succeeded', output: { malicious: true, score: 92 } },
      },
      inputs: { reason: 'spike', ttl_hours: 24 },
    };
    const block = stepOf(spike, 'block', 'act');
    const ranges = block.forEach?.items.evaluateList(context) ?? [];
    expect(ranges).toEqual(['203.0.113.0/24']);
    expect(block.input.render({ ...context, item: ranges[0] ?? null })).toEqual({
      cidr: '203.0.113.0/24',
      reason: 'spike (case #12)',
      ttl_hours: 24,
    });
    const external = stepOf(spike, 'external', 'decide');
    expect(external.branches.map((b) => b.when.evaluateBoolean(context))).toEqual([
      false,
      true,
      true,
    ]);
    expect(stepOf(spike, 'approve_block', 'approval').message.render(context)).toBe(
      // A folded scalar (>-) joins its lines with a space.
      'Block 203.0.113.0/24 in front of Customer Churn Prediction? Threat intel score: 92.',
    );
  });
});

describe('schema errors, at the YAML position of the field', () => {
  it('names an unknown key, with the obvious fix', () => {
    expect(
      problemsOf(
        lines(
          ...HEADER,
          '  - id: intel', //                          8
          '    enrich:', //                            9
          '      conector: threat_intel', //           10
          '      action: lookup_ip', //                11
        ),
      ),
    ).toEqual([
      'playbooks/x.yaml:10:7: steps[0].enrich.conector: unknown key (did you mean "connector"?)',
    ]);
  });

  it('turns the step oneOf into one sentence', () => {
    expect(
      problemsOf(
        lines(
          ...HEADER,
          '  - id: a', //                              8
          '    goto: end', //                          9
          '  - id: both', //                           10
          '    enrich: { connector: a, action: b }', // 11
          '    notify: { connector: log, message: hi }', // 12
          '  - id: nothing', //                        13
          '    when: "true"', //                       14
        ),
      ),
    ).toEqual([
      'playbooks/x.yaml:10:5: steps[1]: a step needs exactly one of enrich, decide, act, approval, playbook, case, notify, goto (found enrich, notify)',
      'playbooks/x.yaml:13:5: steps[2]: a step needs exactly one of enrich, decide, act, approval, playbook, case, notify, goto (found none)',
    ]);
  });

  it('reports missing keys, wrong types, enums and patterns', () => {
    expect(
      problemsOf(
        lines(
          'id: Sample_1', //                        1
          'version: "1"', //                        2
          'owner: secops@example.com', //           3
          'trigger:', //                            4
          '  types: [inference_spike, jailbrake]', // 5
          'steps:', //                              6
          '  - id: 2fa', //                         7
          '    case: { phase: contained, severity: high }', // 8
          '    timeout: soon', //                   9
        ),
      ),
    ).toEqual([
      'playbooks/x.yaml:1:1: missing required key "title"',
      'playbooks/x.yaml:1:5: id: must be lowercase letters, digits and "-", starting with a letter (got "Sample_1")',
      'playbooks/x.yaml:2:10: version: must be an integer (got "1")',
      'playbooks/x.yaml:5:28: trigger.types[1]: "jailbrake" is not allowed — did you mean "jailbreak"? (one of: prompt_injection, jailbreak, output_policy_violation, agent_tool_anomaly, model_drift, model_integrity, training_pipeline_anomaly, inference_spike, data_poisoning, data_exfiltration, cost_harvesting, credential_misuse, other)',
      'playbooks/x.yaml:7:9: steps[0].id: must be lowercase letters, digits and "_", starting with a letter (so that steps.<id> works in CEL) (got "2fa")',
      'playbooks/x.yaml:8:20: steps[0].case.phase: "contained" is not allowed — did you mean "containment"? (one of: detection_analysis, containment, eradication, recovery, post_incident)',
      'playbooks/x.yaml:8:41: steps[0].case.severity: "high" is not allowed — did you mean "High"? (one of: Unknown, Informational, Low, Medium, High, Critical, Fatal)',
      'playbooks/x.yaml:9:14: steps[0].timeout: must be a duration such as "500ms", "10s", "30m", "1h" or "2d" (got "soon")',
    ]);
  });

  it('explains the conditional rules', () => {
    expect(
      problemsOf(
        lines(
          ...HEADER,
          '  - id: ask', //                                                      8
          '    approval: { approvers: [admin], message: ok?, timeout: 1h, on_timeout: escalate }', // 9
          '  - id: ask_again', //                                                10
          '    approval: { approvers: [admin], message: ok?, timeout: 1h, escalate_to: [admin] }', // 11
          '  - id: close', //                                                    12
          '    case: { phase: recovery, close: { reason: benign } }', //         13
          '    concurrency: 2', //                                               14
          '  - id: tell', //                                                     15
          '    notify: { connector: log, message: hi }', //                      16
          '    on_error: retry', //                                              17
          '  - id: route', //                                                    18
          '    decide:', //                                                      19
          '      - when: "true"', //                                             20
          '      - default: tell', //                                            21
        ),
      ),
    ).toEqual([
      'playbooks/x.yaml:9:15: steps[0].approval: escalate_to is required when on_timeout is escalate',
      'playbooks/x.yaml:11:15: steps[1].approval: escalate_to is only allowed with on_timeout: escalate',
      'playbooks/x.yaml:12:5: steps[2]: concurrency is only allowed with for_each',
      'playbooks/x.yaml:13:11: steps[2].case: close can only be combined with note',
      'playbooks/x.yaml:17:15: steps[3].on_error: must be continue, fail or { goto: <step id> }',
      'playbooks/x.yaml:20:9: steps[4].decide[0]: a decide branch is either { when, goto } or { default } alone (found when)',
    ]);
  });

  it('knows what starts a playbook, and closes a test case only for a playbook on case_closed', () => {
    expect(
      problemsOf(
        lines(
          'id: sample', //                                  1
          'version: 1', //                                  2
          'title: Sample', //                               3
          'owner: secops@example.com', //                   4
          'trigger: { on: case_closd }', //                 5
          'steps:', //                                      6
          '  - { id: done, goto: end }', //                 7
          'tests:', //                                      8
          '  - name: closed', //                            9
          '    alert: { type: jailbreak, title: t }', //    10
          '    closed_as: benign', //                       11
          '    expect: { steps: [done] }', //               12
        ),
      ),
    ).toEqual([
      'playbooks/x.yaml:5:16: trigger.on: "case_closd" is not allowed — did you mean "case_closed"? (one of: new_case, case_closed)',
    ]);
    expect(
      problemsOf(
        lines(
          ...HEADER,
          '  - { id: done, goto: end }', //                 8
          'tests:', //                                      9
          '  - name: closed', //                            10
          '    alert: { type: inference_spike, title: t }', // 11
          '    closed_as: benign', //                       12
          '    expect: { steps: [done] }', //               13
        ),
      ),
    ).toEqual([
      'playbooks/x.yaml:12:16: tests[0].closed_as: only a playbook with trigger on: case_closed closes its test case',
    ]);
  });

  it('refuses approvers who may not approve: a viewer reads, an ingest token only sends alerts', () => {
    expect(
      problemsOf(
        lines(
          ...HEADER,
          '  - id: ask', //                                                       8
          '    approval: { approvers: [viewer], message: ok?, timeout: 1h }', //   9
          '  - id: ask_more', //                                                  10
          '    approval: { approvers: [admin, ingest], message: ok?, timeout: 1h }', // 11
        ),
      ),
    ).toEqual([
      'playbooks/x.yaml:9:29: steps[0].approval.approvers[0]: must be one of: analyst, responder, admin (got "viewer")',
      'playbooks/x.yaml:11:36: steps[1].approval.approvers[1]: must be one of: analyst, responder, admin (got "ingest")',
    ]);
  });

  it('reports invalid YAML and a top level that is not a mapping', () => {
    expect(problemsOf(lines('id: x', 'steps: [', '  - a'))).toEqual([
      'playbooks/x.yaml:3:3: invalid YAML: Block collections are not allowed within flow collections',
      'playbooks/x.yaml:4:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(problemsOf(lines('- just', '- a list'))).toEqual([
      'playbooks/x.yaml:1:1: a playbook file must be a mapping of keys to values',
    ]);
    expect(problemsOf(lines('id: a', '---', 'id: b'))).toEqual([
      'playbooks/x.yaml:2:1: a playbook file holds one YAML document: split the file at "---"',
    ]);
    expect(problemsOf(lines('id: a', 'id: b'))).toEqual([
      expect.stringMatching(/^playbooks\/x\.yaml:2:1: invalid YAML: Map keys must be unique/),
    ]);
  });
});

describe('checks beyond the schema', () => {
  it('finds unknown steps in CEL, at the position of the expression', () => {
    expect(
      problemsOf(
        lines(
          ...HEADER,
          '  - id: intel', //                                    8
          '    enrich: { connector: ti, action: lookup }', //    9
          '  - id: external', //                                 10
          '    decide:', //                                      11
          '      - when: "steps.intl.output.malicious"', //      12
          '        goto: intel', //                              13
          '      - default: end', //                             14
        ),
        'playbooks/spike.yaml',
      ),
    ).toEqual([
      'playbooks/spike.yaml:12:15: steps[1].decide[0].when: unknown step "intl" — did you mean "intel"? (known: intel, external)',
    ]);
  });

  it('checks variables, fields, syntax and where item and policy are bound', () => {
    expect(
      problemsOf(
        lines(
          ...HEADER.slice(0, 5),
          '  types: [inference_spike]', //                                           6
          '  when: "steps.intel.status == \'succeeded\'"', //                          7
          'steps:', //                                                                8
          '  - id: intel', //                                                         9
          '    when: "item != \'\'"', //                                              10
          '    enrich:', //                                                           11
          '      connector: ti', //                                                   12
          '      action: lookup', //                                                  13
          '      input: { ip: "${{ alert.observables.ip[0] }}", n: "${{ 1 + }}" }', // 14
          '  - id: block', //                                                         15
          '    for_each: "case.observables.sourceRanges"', //                         16
          '    act:', //                                                              17
          '      connector: net', //                                                  18
          '      action: block', //                                                   19
          '      input: { cidr: "${{ item }}", mode: "${{ policy.mode }}" }', //      20
        ),
      ),
    ).toEqual([
      'playbooks/x.yaml:7:9: trigger.when: "steps" is not available here: trigger.when sees only alert and case',
      'playbooks/x.yaml:10:11: steps[0].when: "item" is not available here: item is bound only in the fields of a step with for_each (not in its when or for_each)',
      'playbooks/x.yaml:14:20: steps[0].enrich.input.ip: alert.observables has no field "ip" — did you mean "ips"?',
      'playbooks/x.yaml:14:57: steps[0].enrich.input.n: CEL syntax error at column 6: Unexpected token: EOF in " 1 + "',
      'playbooks/x.yaml:20:43: steps[1].act.input.mode: "policy" is not available here: policy is bound only in an act step with an intent',
    ]);
  });

  it('checks ids, goto targets, decide defaults, durations and where fields apply', () => {
    expect(
      problemsOf(
        lines(
          ...HEADER,
          '  - id: intel', //                                                  8
          '    enrich: { connector: ti, action: lookup }', //                  9
          '    retry: { count: 2, backoff: { initial: 1m, max: 10s } }', //    10
          '    on_error: { goto: triage }', //                                 11
          '  - id: intel', //                                                  12
          '    decide:', //                                                    13
          '      - default: end', //                                           14
          '      - when: "true"', //                                           15
          '        goto: nowhere', //                                          16
          '    goto: end', //                                                  17
          '  - id: ask', //                                                    18
          '    approval: { approvers: [admin], message: ok?, timeout: 0s }', // 19
          '    retry: { count: 1 }', //                                        20
          '  - id: in', //                                                     21
          '    goto: intl', //                                                 22
          '  - id: pick', //                                                   23
          '    decide:', //                                                    24
          '      - when: "alert.title"', //                                    25
          '        goto: end', //                                              26
        ),
      ),
    ).toEqual([
      'playbooks/x.yaml:10:53: steps[0].retry.backoff.max: backoff.max (10000 ms) is shorter than backoff.initial (60000 ms)',
      'playbooks/x.yaml:11:23: steps[0].on_error.goto: unknown step "triage" (known: intel, ask, in, pick, end)',
      'playbooks/x.yaml:12:9: steps[1].id: "intel" is already the id of steps[0]',
      'playbooks/x.yaml:14:9: steps[1].decide[0]: the default branch must be the last one',
      'playbooks/x.yaml:16:15: steps[1].decide[1].goto: unknown step "nowhere" (known: intel, ask, in, pick, end)',
      'playbooks/x.yaml:17:11: steps[1].goto: a decide step chooses its next step in its branches: remove goto',
      'playbooks/x.yaml:19:60: steps[2].approval.timeout: must be a duration such as "90s", "15m", "1h", "2d" or a positive number of milliseconds (got "0s")',
      'playbooks/x.yaml:20:12: steps[2].retry: retry applies only to enrich, act, notify steps, not to an approval step',
      'playbooks/x.yaml:21:9: steps[3].id: "in" is a reserved word in CEL (steps.in would not parse)',
      'playbooks/x.yaml:22:11: steps[3].goto: unknown step "intl" — did you mean "intel"? (known: intel, ask, in, pick, end)',
      'playbooks/x.yaml:25:7: steps[4].decide: needs a last branch { default: <step id> } taken when no when is true',
      'playbooks/x.yaml:25:15: steps[4].decide[0].when: must be a boolean expression, but alert.title is a string',
    ]);
  });

  it('checks inputs and tests', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'present.json'), '{}');
    const text = lines(
      ...HEADER.slice(0, 7),
      'inputs:', //                                                       7
      '  reason: { type: string, default: 3 }', //                        8
      '  mode: { type: string, required: true, default: x }', //          9
      'steps:', //                                                        10
      '  - id: intel', //                                                 11
      '    enrich: { connector: ti, action: lookup }', //                 12
      '  - id: ask', //                                                   13
      '    approval: { approvers: [admin], message: ok?, timeout: 1h }', // 14
      'tests:', //                                                        15
      '  - name: one', //                                                 16
      '    alert_file: present.json', //                                  17
      '    responses: { intel: { output: 1 }, ask: { output: 2 } }', //   18
      '    approvals: { intel: approved, ask: approved }', //             19
      '    expect:', //                                                   20
      '      steps: [intel, ask, intl]', //                               21
      '      actions: [{ step: ask }]', //                                22
      '      case: { phse: containment }', //                             23
      '  - name: two', //                                                 24
      '    alert_file: missing.json', //                                  25
      '    expect: { steps: [] }', //                                     26
    ).replace('steps:\ninputs:', 'inputs:');
    const file = join(dir, 'x.yaml');
    const { problems } = checkPlaybooks([{ file, text }], {
      fileExists: (path) => path === join(dir, 'present.json'),
    });
    expect(problems.map(formatProblem)).toEqual([
      `${file}:8:36: inputs.reason.default: must be a string`,
      `${file}:9:50: inputs.mode.default: a required input cannot have a default`,
      `${file}:18:40: tests[0].responses.ask: step "ask" is an approval step; only enrich, act, notify, playbook steps belong here`,
      `${file}:19:18: tests[0].approvals.intel: step "intel" is an enrich step; only approval, act steps belong here`,
      `${file}:21:27: tests[0].expect.steps[2]: unknown step "intl" — did you mean "intel"? (known: intel, ask)`,
      `${file}:22:25: tests[0].expect.actions[0].step: step "ask" is an approval step; only enrich, act, notify steps belong here`,
      `${file}:23:15: tests[0].expect.case.phse: a case has no field "phse" — did you mean "phase"?`,
      `${file}:25:17: tests[1].alert_file: file not found: ${join(dir, 'missing.json')}`,
    ]);
  });
});

describe('checks across playbooks', () => {
  const playbook = (id: string, ...stepLines: string[]): string =>
    lines(
      `id: ${id}`,
      'version: 1',
      'title: T',
      'owner: o',
      'trigger: { types: [other] }',
      ...stepLines,
    );

  it('rejects duplicate ids, unknown playbooks, wrong inputs and call cycles', () => {
    const sources: PlaybookSource[] = [
      {
        file: 'a.yaml',
        text: playbook(
          'a',
          'inputs:', //                                                      6
          '  n: { type: number, required: true }', //                        7
          '  tag: { type: string }', //                                      8
          'steps:', //                                                       9
          '  - id: call_b', //                                               10
          '    playbook: { id: b }', //                                      11
        ),
      },
      {
        file: 'b.yaml',
        text: playbook(
          'b',
          'steps:', //                                                       6
          '  - id: call_a', //                                               7
          '    playbook: { id: a, input: { n: "3", tga: x, tag: "${{ alert.type }}" } }', // 8
          '  - id: call_c', //                                               9
          '    playbook: { id: cc }', //                                     10
          '  - id: call_c_again', //                                         11
          '    playbook: { id: c }', //                                      12
        ),
      },
      {
        file: 'c.yaml',
        text: playbook(
          'c',
          'inputs: { k: { type: list, required: true } }',
          'steps: [{ id: x, goto: end }]',
        ),
      },
      { file: 'd.yaml', text: playbook('a', 'steps:', '  - id: x', '    goto: end') },
    ];
    const { playbooks, problems } = checkPlaybooks(sources);
    expect(problems.map(formatProblem)).toEqual([
      'b.yaml:8:21: steps[0].playbook.id: sub-playbook calls form a cycle: a → b → a',
      'b.yaml:8:36: steps[0].playbook.input.n: input "n" of playbook "a" must be a number (got "3")',
      'b.yaml:8:41: steps[0].playbook.input.tga: playbook "a" has no input "tga" — did you mean "tag"? (inputs: n, tag)',
      'b.yaml:10:21: steps[1].playbook.id: unknown playbook "cc" — did you mean "c"? (known: a, b, c)',
      'b.yaml:12:15: steps[2].playbook: playbook "c" requires input "k" (list)',
      'd.yaml:1:5: id: playbook id "a" is already used in a.yaml:1:5',
    ]);
    expect(playbooks.map((p) => p.id)).toEqual(['a', 'c']);
  });

  it('does not report callers of a playbook that is itself broken as calling an unknown one', () => {
    const { problems } = checkPlaybooks([
      { file: 'a.yaml', text: playbook('a', 'steps:', '  - id: x', '    playbook: { id: b }') },
      { file: 'b.yaml', text: playbook('b', 'steps: []') },
    ]);
    expect(problems.map(formatProblem)).toEqual(['b.yaml:6:8: steps: must not be empty']);
  });

  it('accepts a sub-playbook call with the right inputs', () => {
    const loaded = compilePlaybooks([
      {
        file: 'a.yaml',
        text: playbook(
          'a',
          'inputs: { n: { type: number, required: true }, l: { type: list, default: [] } }',
          'steps: [{ id: x, goto: end }]',
        ),
      },
      {
        file: 'b.yaml',
        text: playbook(
          'b',
          'steps:',
          '  - id: call',
          '    playbook: { id: a, input: { n: 2, l: [1] } }',
        ),
      },
    ]);
    expect(loaded.map((p) => p.id)).toEqual(['a', 'b']);
  });
});

describe('errors and loading', () => {
  afterEach(cleanTempDirs);

  it('throws one invalid_playbook error listing every problem of every file', () => {
    const sources: PlaybookSource[] = [
      { file: 'p/one.yaml', text: lines(...HEADER, '  - id: a', '    goto: nowhere') },
      { file: 'p/two.yaml', text: lines('id: two') },
    ];
    let error: unknown;
    try {
      compilePlaybooks(sources);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WardenError);
    expect(error).toMatchObject({ code: 'invalid_playbook', status: 422 });
    const problems = playbookProblemsOf(error);
    expect(problems).toEqual([
      {
        file: 'p/one.yaml',
        line: 9,
        column: 11,
        path: 'steps[0].goto',
        message: 'unknown step "nowhere" (known: a, end)',
      },
      {
        file: 'p/two.yaml',
        line: 1,
        column: 1,
        path: '',
        message: 'missing required key "version"',
      },
      { file: 'p/two.yaml', line: 1, column: 1, path: '', message: 'missing required key "title"' },
      { file: 'p/two.yaml', line: 1, column: 1, path: '', message: 'missing required key "owner"' },
      {
        file: 'p/two.yaml',
        line: 1,
        column: 1,
        path: '',
        message: 'missing required key "trigger"',
      },
      { file: 'p/two.yaml', line: 1, column: 1, path: '', message: 'missing required key "steps"' },
    ]);
    expect((error as Error).message.split('\n')).toEqual(problems.map(formatProblem));
    expect(playbookProblemsOf(new Error('x'))).toEqual([]);
  });

  it('parsePlaybook compiles one file and leaves sub-playbooks unresolved', () => {
    const text = lines(...HEADER, '  - id: call', '    playbook: { id: elsewhere }');
    const playbook = parsePlaybook(text, 'one.yaml');
    expect(stepOf(playbook, 'call', 'playbook').playbook).toBe('elsewhere');
    expect(Object.isFrozen(playbook.steps[0])).toBe(true);
    expect(() => parsePlaybook(lines('id: x'), 'bad.yaml')).toThrow(
      /^bad\.yaml:1:1: missing required key "version"/,
    );
  });

  it('reads *.yaml and *.yml files, and nothing from a missing directory', () => {
    const dir = tempDir();
    expect(loadPlaybooks(join(dir, 'absent'))).toEqual([]);
    mkdirSync(join(dir, 'playbooks'));
    writeFileSync(
      join(dir, 'playbooks', 'b.yml'),
      lines(...HEADER.map((l) => l.replace('sample', 'bee')), '  - id: a', '    goto: end'),
    );
    writeFileSync(join(dir, 'playbooks', 'a.yaml'), lines(...HEADER, '  - id: a', '    goto: end'));
    writeFileSync(join(dir, 'playbooks', 'notes.txt'), 'not a playbook');
    expect(loadPlaybooks(join(dir, 'playbooks')).map((p) => [p.id, p.source.file])).toEqual([
      ['sample', join(dir, 'playbooks', 'a.yaml')],
      ['bee', join(dir, 'playbooks', 'b.yml')],
    ]);
    expect(() => loadPlaybooks(join(dir, 'playbooks', 'a.yaml'))).toThrow(/not a directory/);
  });
});

const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-playbooks-'));
  tempDirs.push(dir);
  return dir;
}

function cleanTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

describe('tests kept beside a playbook (<name>.tests.yaml)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const PLAYBOOK = lines(...HEADER, '  - id: look', '    goto: end');
  const TESTS = lines(
    'tests:',
    '  - name: looks',
    '    alert: { type: inference_spike, title: t }',
    '    expect: { steps: [look] }',
  );

  function dirWith(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'warden-beside-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  it('are loaded with their playbook, pointing at their own file', () => {
    const dir = dirWith({ 'sample.yaml': PLAYBOOK, 'sample.tests.yaml': TESTS });
    const [playbook] = loadPlaybooks(dir);
    expect(playbook?.tests.map((t) => t.name)).toEqual(['looks']);
    expect(playbook?.tests[0]?.source).toEqual({
      file: join(dir, 'sample.tests.yaml'),
      line: 2,
      column: 5,
    });
  });

  it('report their problems at their own file and line', () => {
    const dir = dirWith({
      'sample.yaml': PLAYBOOK,
      'sample.tests.yaml': TESTS.replace('steps: [look]', 'steps: [lok]'),
    });
    const { problems } = checkPlaybooks(readPlaybookSources(dir));
    expect(problems.map(formatProblem)).toEqual([
      `${join(dir, 'sample.tests.yaml')}:4:23: tests[0].expect.steps[0]: unknown step "lok" — did you mean "look"? (known: look)`,
    ]);
  });

  it('are refused without a playbook beside them, or when the playbook has tests of its own', () => {
    expect(() => readPlaybookSources(dirWith({ 'lonely.tests.yaml': TESTS }))).toThrow(
      /lonely\.tests\.yaml: there is no lonely\.yaml beside it/,
    );
    const both = dirWith({ 'sample.yaml': PLAYBOOK + TESTS, 'sample.tests.yaml': TESTS });
    const messages = checkPlaybooks(readPlaybookSources(both)).problems.map((p) => p.message);
    expect(messages).toContain(
      `${join(both, 'sample.yaml')} has tests of its own; keep them in one place`,
    );
  });
});
