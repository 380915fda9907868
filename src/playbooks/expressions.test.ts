import { describe, expect, it } from 'vitest';
import type { NormalizedAlert } from '../core/alert.js';
import { openCaseFor } from '../core/case.js';
import { WardenError } from '../core/errors.js';
import {
  compileExpression,
  compileTemplate,
  pendingStepResults,
  renderTemplate,
  type CompileSites,
  type ExpectedType,
  type ExpressionScope,
  type PathSegment,
} from './expressions.js';
import type {
  CelVariable,
  CompiledExpression,
  ExpressionContext,
  JsonValue,
  Template,
} from './playbook.js';

const alert: NormalizedAlert = {
  id: 'alert-1',
  source: { format: 'native', product: 'gateway', vendor: 'acme' },
  type: 'inference_spike',
  title: 'Request volume 500% above baseline',
  severityId: 3,
  severity: 'Medium',
  confidence: 80,
  firstSeen: '2026-01-05T10:00:00.000Z',
  lastSeen: '2026-01-05T10:05:00.000Z',
  receivedAt: '2026-01-05T10:05:01.000Z',
  count: 5,
  observables: {
    ips: ['203.0.113.7', '203.0.113.9'],
    cidrs: [],
    users: [],
    apiKeyIds: [],
    sessionIds: [],
    urls: [],
    model: { id: 'customer-churn' },
    toolCalls: [],
  },
  atlasTechniques: ['AML.T0040'],
  dedupKey: 'k',
  enrichment: {
    modelId: 'customer-churn',
    modelName: 'Customer Churn Prediction',
    tier: 1,
    owner: 'ml-retail@bank.example',
    blastRadius: ['exp-churn-v2'],
    allowlisted: [],
  },
  raw: {},
};

const kase = openCaseFor(alert, [], { id: 'case-1', number: 7, now: alert.receivedAt });

const context: ExpressionContext = {
  alert,
  case: kase,
  steps: {
    intel: { status: 'succeeded', output: { malicious: true, score: 92, tags: ['tor', 'vpn'] } },
    skipped: { status: 'skipped' },
  },
  inputs: { reason: 'spike', ttl: 4 },
};

const ALL: CelVariable[] = ['alert', 'case', 'steps', 'inputs'];

function scope(variables: CelVariable[] = ALL): ExpressionScope {
  return {
    variables,
    stepIds: ['intel', 'skipped', 'block'],
    inputs: [
      { name: 'reason', type: 'string' },
      { name: 'ttl', type: 'number' },
    ],
  };
}

interface Reported {
  path: readonly PathSegment[];
  message: string;
}

function sites(problems: Reported[]): CompileSites {
  return {
    siteOf: (path) => ({
      field: ['steps[0].when', ...path].join('.'),
      position: { file: 'pb.yaml', line: 3, column: 9 },
    }),
    report: (path, message) => problems.push({ path, message }),
  };
}

function compile(
  source: string,
  variables?: CelVariable[],
  expected: ExpectedType = 'any',
): CompiledExpression {
  const problems: Reported[] = [];
  const compiled = compileExpression(source, scope(variables), sites(problems), expected);
  expect(problems).toEqual([]);
  return compiled as CompiledExpression;
}

function problemsOf(source: string, variables?: CelVariable[], expected?: ExpectedType): string[] {
  const problems: Reported[] = [];
  const compiled = compileExpression(source, scope(variables), sites(problems), expected);
  expect(compiled).toBeUndefined();
  return problems.map((p) => p.message);
}

function template(value: JsonValue, variables?: CelVariable[]): Template {
  const problems: Reported[] = [];
  const compiled = compileTemplate(value, scope(variables), sites(problems));
  expect(problems).toEqual([]);
  return compiled as Template;
}

const evaluate = (source: string, ctx: ExpressionContext = context): JsonValue =>
  compile(source, ['alert', 'case', 'steps', 'inputs', 'item', 'policy']).evaluate(ctx);

describe('compileExpression: references checked at load', () => {
  it('accepts known variables, fields, steps and inputs', () => {
    expect(compile('alert.enrichment.tier <= 2 && case.phase == "detection_analysis"').type).toBe(
      'bool',
    );
    compile('steps.intel.output.malicious && inputs.reason != ""');
    compile('alert.observables.toolCalls.exists(t, t.name == "shell")');
    compile('alert.observables.ips.map(ip, ip + "/32")');
    compile('cel.bind(r, case.observables.sourceRanges, size(r) > 0)');
    compile('has(alert.enrichment.owner) ? alert.enrichment.owner : "nobody"');
    compile('alert.raw.anything.goes');
    compile('steps["intel"].output');
  });

  it('rejects an unknown top-level identifier with a suggestion', () => {
    expect(problemsOf('alrt.type == "x"')).toEqual([
      'unknown variable "alrt" — did you mean "alert"? (available: alert, case, steps, inputs)',
    ]);
  });

  it('rejects an unknown step with the known ones', () => {
    expect(problemsOf('steps.intl.output.malicious')).toEqual([
      'unknown step "intl" — did you mean "intel"? (known: intel, skipped, block)',
    ]);
    expect(problemsOf('steps["nope"].output')).toEqual([
      'unknown step "nope" (known: intel, skipped, block)',
    ]);
  });

  it('rejects unknown fields of the alert, case, step results and inputs', () => {
    expect(problemsOf('alert.enrichmnt.tier')).toEqual([
      'alert has no field "enrichmnt" — did you mean "enrichment"?',
    ]);
    expect(problemsOf('case.observables.cidrs')).toEqual([
      'case.observables has no field "cidrs" (fields: ips, sourceRanges, users, apiKeyIds, sessionIds, datasets, datasetHashes, toolCalls, urls)',
    ]);
    expect(problemsOf('steps.intel.outptu')).toEqual([
      'steps.intel has no field "outptu" — did you mean "output"?',
    ]);
    expect(problemsOf('inputs.reson')).toEqual([
      'unknown input "reson" — did you mean "reason"? (declared: reason, ttl)',
    ]);
    expect(problemsOf('alert.title.text')).toEqual([
      'alert.title is a string and has no fields or elements',
    ]);
    expect(problemsOf('alert.observables.ips.first')).toEqual([
      'alert.observables.ips is a list: "first" is not a field of it (use an index such as [0], or exists/all/map/filter)',
    ]);
  });

  it('binds item only where for_each binds it, policy only for act steps with an intent', () => {
    expect(problemsOf('item == "x"')).toEqual([
      '"item" is not available here: item is bound only in the fields of a step with for_each (not in its when or for_each)',
    ]);
    expect(problemsOf('policy.mode == "automatic"')).toEqual([
      '"policy" is not available here: policy is bound only in an act step with an intent',
    ]);
    expect(problemsOf('steps.intel.status == "failed"', ['alert', 'case'])).toEqual([
      '"steps" is not available here: trigger.when sees only alert and case',
    ]);
    compile('item == "x"', [...ALL, 'item']);
    compile('policy.mode == "approval" && size(policy.approvers) > 0', [...ALL, 'policy']);
  });

  it('does not mistake comprehension variables for unknown identifiers', () => {
    expect(problemsOf('alert.observables.ips.all(ip, ip != bogus)')).toEqual([
      'unknown variable "bogus" (available: alert, case, steps, inputs)',
    ]);
  });

  it('reports syntax and type errors with the column in the expression', () => {
    expect(problemsOf('alert.count + ')).toEqual([
      'CEL syntax error at column 15: Unexpected token: EOF in "alert.count + "',
    ]);
    expect(problemsOf('size(1) > 0')).toEqual([
      'CEL type error at column 1: found no matching overload for \'size(int)\' in "size(1) > 0"',
    ]);
    expect(problemsOf('  ')).toEqual(['is an empty expression']);
  });

  it('checks the result type where it is known at load', () => {
    expect(problemsOf('"yes"', ALL, 'bool')).toEqual([
      'must be a boolean expression, but "\\"yes\\"" is a string',
    ]);
    expect(problemsOf('alert.title', ALL, 'bool')).toEqual([
      'must be a boolean expression, but alert.title is a string',
    ]);
    expect(problemsOf('alert.title', ALL, 'list')).toEqual([
      'must evaluate to a list, but alert.title is a string',
    ]);
    compile('case.observables.sourceRanges', ALL, 'list');
    compile('steps.intel.output.flag', ALL, 'bool');
  });
});

describe('evaluate', () => {
  it('returns JSON values of the expression type', () => {
    expect(evaluate('alert.observables.ips[0]')).toBe('203.0.113.7');
    expect(evaluate('steps.intel.output.malicious')).toBe(true);
    expect(evaluate('alert.observables.ips')).toEqual(['203.0.113.7', '203.0.113.9']);
    expect(evaluate('{"ip": alert.observables.ips[1], "n": 1, "ok": true}')).toEqual({
      ip: '203.0.113.9',
      n: 1,
      ok: true,
    });
    expect(evaluate('case.observables.sourceRanges')).toEqual(['203.0.113.0/24']);
    expect(evaluate('null')).toBeNull();
  });

  it('treats every context number as a double and promotes mixed arithmetic to double', () => {
    // alert.count is the JS number 5: a CEL double. Integer literals are CEL ints.
    expect(evaluate('alert.count + 1')).toBe(6);
    expect(evaluate('1 + alert.count')).toBe(6);
    expect(evaluate('alert.count * 2')).toBe(10);
    expect(evaluate('alert.count / 2')).toBe(2.5);
    expect(evaluate('alert.count - 1.5')).toBe(3.5);
    expect(evaluate('alert.enrichment.tier <= 2')).toBe(true);
    expect(evaluate('alert.enrichment.tier == 1')).toBe(true);
    expect(evaluate('alert.enrichment.tier in [1, 2]')).toBe(true);
    expect(evaluate('alert.observables.ips[alert.enrichment.tier]')).toBe('203.0.113.9');
    // CEL ints (BigInt in cel-js) come back as plain numbers.
    expect(evaluate('size(alert.observables.ips)')).toBe(2);
    expect(evaluate('7 / 2')).toBe(3);
    expect(evaluate('int(alert.count) % 2')).toBe(1);
    expect(typeof evaluate('size(alert.observables.ips) + 1')).toBe('number');
  });

  it('converts other CEL values to JSON', () => {
    expect(evaluate('timestamp(alert.firstSeen)')).toBe('2026-01-05T10:00:00.000Z');
    expect(evaluate('duration("90s")')).toBe('90s');
    expect(evaluate('1u + 2u')).toBe(3);
    expect(evaluate('b"hi"')).toBe('aGk=');
    expect(evaluate('{1: "a"}')).toEqual({ 1: 'a' });
  });

  it('raises expression_failed naming the position, field and expression', () => {
    const missing = compile('steps.skipped.output.malicious');
    const error = catchError(() => missing.evaluate(context));
    expect(error).toBeInstanceOf(WardenError);
    expect(error).toMatchObject({
      code: 'expression_failed',
      field: 'steps[0].when',
      retryable: false,
      details: {
        file: 'pb.yaml',
        line: 3,
        column: 9,
        expression: 'steps.skipped.output.malicious',
        celCode: 'no_such_key',
      },
    });
    expect(error.message).toBe(
      'pb.yaml:3:9: steps[0].when: No such key: output (in "steps.skipped.output.malicious")',
    );
    expect(catchError(() => compile('9223372036854775807').evaluate(context)).message).toContain(
      'the integer 9223372036854775807 is too large for a JSON number',
    );
    expect(catchError(() => compile('alert.count / 0.0').evaluate(context)).message).toContain(
      'the result Infinity is not a finite number',
    );
  });

  it('tests presence with has(); every step is present once pendingStepResults seeds steps', () => {
    expect(evaluate('has(steps.skipped.output)')).toBe(false);
    expect(evaluate('has(alert.enrichment.environment)')).toBe(false);
    const steps = {
      ...pendingStepResults({ steps: [{ id: 'block' }] as never }),
      ...context.steps,
    };
    expect(
      evaluate('has(steps.block.output) || steps.block.status == "pending"', { ...context, steps }),
    ).toBe(true);
  });

  it('checks boolean and list results', () => {
    expect(compile('alert.count > 1').evaluateBoolean(context)).toBe(true);
    expect(
      catchError(() => compile('steps.intel.output.score').evaluateBoolean(context)).message,
    ).toBe(
      'pb.yaml:3:9: steps[0].when: must evaluate to a boolean, got the number 92 (in "steps.intel.output.score")',
    );
    expect(compile('steps.intel.output.tags').evaluateList(context)).toEqual(['tor', 'vpn']);
    expect(() => compile('alert.title').evaluateList(context)).toThrow(/must evaluate to a list/);
  });

  it('binds item and policy from the context', () => {
    const itemContext = { ...context, item: '203.0.113.0/24' };
    expect(evaluate('item + " blocked"', itemContext)).toBe('203.0.113.0/24 blocked');
    const policyContext: ExpressionContext = {
      ...context,
      policy: { intent: 'block_source', mode: 'approval', approvers: ['admin'] },
    };
    expect(
      evaluate('policy.mode == "approval" && "admin" in policy.approvers', policyContext),
    ).toBe(true);
  });
});

describe('templates', () => {
  it('renders a string that is exactly one ${{ }} to the typed value', () => {
    expect(template('${{ size(alert.observables.ips) }}').render(context)).toBe(2);
    expect(template('${{ alert.observables.ips }}').render(context)).toEqual([
      '203.0.113.7',
      '203.0.113.9',
    ]);
    expect(template('${{steps.intel.output.malicious}}').render(context)).toBe(true);
    expect(template('${{ {"a": {"b": 1}} }}').render(context)).toEqual({ a: { b: 1 } });
  });

  it('interpolates anything else as text', () => {
    expect(
      template(
        'Block ${{ case.observables.sourceRanges[0] }} on ${{ alert.enrichment.modelId }}?',
      ).render(context),
    ).toBe('Block 203.0.113.0/24 on customer-churn?');
    expect(template('n=${{ alert.count }} ok=${{ true }} x=${{ null }}').render(context)).toBe(
      'n=5 ok=true x=null',
    );
    expect(template('ips: ${{ alert.observables.ips }}').render(context)).toBe(
      'ips: ["203.0.113.7","203.0.113.9"]',
    );
    expect(template(' ${{ alert.count }}').render(context)).toBe(' 5');
    expect(template('${{ "}}" }} and ${{ \'{\' }}').render(context)).toBe('}} and {');
  });

  it('walks lists and maps; keys and non-template values stay as written', () => {
    const input = template(
      {
        cidr: '${{ item }}',
        reason: '${{ inputs.reason }} (case #${{ case.number }})',
        ttl: '${{ inputs.ttl }}',
        tags: ['static', '${{ alert.type }}'],
        limit: 10,
        '${{ key }}': null,
      },
      [...ALL, 'item'],
    );
    expect(input.isStatic).toBe(false);
    expect(input.expressions.map((e) => e.source)).toEqual([
      ' item ',
      ' inputs.reason ',
      ' case.number ',
      ' inputs.ttl ',
      ' alert.type ',
    ]);
    expect(input.render({ ...context, item: '203.0.113.0/24' })).toEqual({
      cidr: '203.0.113.0/24',
      reason: 'spike (case #7)',
      ttl: 4,
      tags: ['static', 'inference_spike'],
      limit: 10,
      '${{ key }}': null,
    });
  });

  it('returns a static template unchanged', () => {
    const source = { a: [1, 'two'], b: null };
    const compiled = template(source);
    expect(compiled.isStatic).toBe(true);
    expect(compiled.render(context)).toBe(source);
    expect(renderTemplate(undefined, context)).toBeUndefined();
    expect(renderTemplate(compiled, context)).toBe(source);
  });

  it('reports problems at the path of the string inside the value', () => {
    const problems: Reported[] = [];
    const compiled = compileTemplate(
      {
        ok: '${{ alert.type }}',
        list: ['x', 'a ${{ alrt.type }}'],
        open: 'a ${{ b',
        empty: '${{ }}',
      },
      scope(),
      sites(problems),
    );
    expect(compiled).toBeUndefined();
    expect(problems).toEqual([
      {
        path: ['list', 1],
        message:
          'unknown variable "alrt" — did you mean "alert"? (available: alert, case, steps, inputs)',
      },
      { path: ['open'], message: 'has an unterminated "${{" at character 3: close it with "}}"' },
      { path: ['empty'], message: 'has an empty "${{ }}" at character 1' },
    ]);
  });

  it('names the field of a failing template expression', () => {
    const problems: Reported[] = [];
    const compiled = compileTemplate({ ip: '${{ steps.skipped.output.ip }}' }, scope(), {
      siteOf: (path) => ({
        field: `steps[1].enrich.input.${path.join('.')}`,
        position: { file: 'pb.yaml', line: 9, column: 13 },
      }),
      report: (path, message) => problems.push({ path, message }),
    });
    expect(() => compiled?.render(context)).toThrow(
      'pb.yaml:9:13: steps[1].enrich.input.ip: No such key: output',
    );
  });
});

function catchError(run: () => unknown): WardenError {
  try {
    run();
  } catch (error) {
    return error as WardenError;
  }
  throw new Error('expected an error');
}
