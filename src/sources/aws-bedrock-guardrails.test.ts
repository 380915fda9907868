import { describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import { bedrockGuardrailsFormat, guardrailFindings } from './aws-bedrock-guardrails.js';
import { describeSourceFormatContract } from './source-format.contract.js';

/*
 * Payloads written from the Amazon Bedrock API Reference: `ApplyGuardrail`
 * response syntax (action, actionReason, outputs, assessments, usage,
 * guardrailCoverage) and the `GuardrailAssessment` shape (topicPolicy.topics,
 * contentPolicy.filters, wordPolicy.customWords / managedWordLists,
 * sensitiveInformationPolicy.piiEntities / regexes,
 * contextualGroundingPolicy.filters, each with `action` and `detected`); and
 * the `Converse` response with `trace.guardrail` (`GuardrailTraceAssessment`:
 * inputAssessment, outputAssessments, actionReason). Values are made up.
 */

const usage = {
  topicPolicyUnits: 1,
  contentPolicyUnits: 1,
  wordPolicyUnits: 1,
  sensitiveInformationPolicyUnits: 1,
  sensitiveInformationPolicyFreeUnits: 0,
  contextualGroundingPolicyUnits: 0,
};

const promptAttackBlocked = {
  usage,
  action: 'GUARDRAIL_INTERVENED',
  actionReason: 'Guardrail blocked.',
  outputs: [{ text: 'Sorry, the model cannot answer this question.' }],
  assessments: [
    {
      contentPolicy: {
        filters: [
          {
            type: 'PROMPT_ATTACK',
            confidence: 'HIGH',
            filterStrength: 'HIGH',
            action: 'BLOCKED',
            detected: true,
          },
          {
            type: 'HATE',
            confidence: 'LOW',
            filterStrength: 'MEDIUM',
            action: 'NONE',
            detected: false,
          },
        ],
      },
      invocationMetrics: { guardrailProcessingLatency: 180, usage },
    },
  ],
};

/** Output with an email address anonymised and a denied topic, in a pre-`detected` response. */
const piiAndTopic = {
  usage,
  action: 'GUARDRAIL_INTERVENED',
  outputs: [{ text: 'Contact {EMAIL} for investment tips.' }],
  assessments: [
    {
      topicPolicy: { topics: [{ name: 'Investment advice', type: 'DENY', action: 'BLOCKED' }] },
      sensitiveInformationPolicy: {
        piiEntities: [{ match: 'jane@example.com', type: 'EMAIL', action: 'ANONYMIZED' }],
        regexes: [{ name: 'account-number', match: '12345678', regex: '\\d{8}', action: 'NONE' }],
      },
    },
  ],
};

/** A guardrail in detect mode: nothing blocked, but a filter detected violence. */
const detectOnly = {
  usage,
  action: 'NONE',
  outputs: [],
  assessments: [
    {
      contentPolicy: {
        filters: [{ type: 'VIOLENCE', confidence: 'MEDIUM', action: 'NONE', detected: true }],
      },
      wordPolicy: {
        managedWordLists: [{ match: 'darn', type: 'PROFANITY', action: 'NONE', detected: true }],
      },
      contextualGroundingPolicy: {
        filters: [
          { type: 'GROUNDING', threshold: 0.75, score: 0.2, action: 'NONE', detected: true },
        ],
      },
    },
  ],
};

const converseIntervened = {
  output: { message: { role: 'assistant', content: [{ text: 'Sorry, I cannot help.' }] } },
  stopReason: 'guardrail_intervened',
  usage: { inputTokens: 20, outputTokens: 8, totalTokens: 28 },
  metrics: { latencyMs: 400 },
  trace: {
    guardrail: {
      inputAssessment: {
        gr1a2b3c4d5e: {
          contentPolicy: {
            filters: [
              { type: 'PROMPT_ATTACK', confidence: 'MEDIUM', action: 'BLOCKED', detected: true },
            ],
          },
        },
      },
      outputAssessments: {
        gr1a2b3c4d5e: [
          {
            wordPolicy: {
              customWords: [{ match: 'project-x', action: 'BLOCKED', detected: true }],
            },
          },
        ],
      },
      actionReason: 'Guardrail blocked.',
    },
  },
};

const nothing = { usage, action: 'NONE', outputs: [], assessments: [{}] };

function errorOf(payload: unknown): WardenError {
  try {
    bedrockGuardrailsFormat.normalize(payload);
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected normalize to throw');
}

const errorCases: Array<[string, unknown, 'missing_field' | 'invalid_field', string]> = [
  ['a non-object payload', 'GUARDRAIL_INTERVENED', 'invalid_field', '(root)'],
  ['no action', { assessments: [] }, 'missing_field', 'action'],
  ['an unknown action', { action: 'BLOCKED', assessments: [] }, 'invalid_field', 'action'],
  ['no assessments', { action: 'GUARDRAIL_INTERVENED' }, 'missing_field', 'assessments'],
  ['assessments as an object', { action: 'NONE', assessments: {} }, 'invalid_field', 'assessments'],
  [
    'a trace without a guardrail object',
    { trace: { guardrail: 'x' } },
    'invalid_field',
    'trace.guardrail',
  ],
  ['a guardrail that did not intervene', nothing, 'invalid_field', 'action'],
  [
    'a Converse trace with nothing detected',
    { stopReason: 'end_turn', trace: { guardrail: { inputAssessment: { g: {} } } } },
    'invalid_field',
    'stopReason',
  ],
];

describeSourceFormatContract(bedrockGuardrailsFormat, {
  valid: [promptAttackBlocked, piiAndTopic, detectOnly, converseIntervened],
  invalid: errorCases.map(([, payload]) => payload),
});

describe('bedrockGuardrailsFormat.normalize', () => {
  it('maps a blocked prompt attack, with the sender context as observables', () => {
    const draft = bedrockGuardrailsFormat.normalize(promptAttackBlocked, {
      model: 'anthropic.claude-3-5-sonnet',
      session: 's-7',
    });
    expect(draft).toMatchObject({
      source: { format: 'bedrock-guardrails', product: 'Bedrock Guardrails', vendor: 'Amazon' },
      type: 'prompt_injection',
      title: 'Bedrock guardrail intervened: content PROMPT_ATTACK',
      description: 'Guardrail blocked.',
      severityId: 4,
      count: 1,
      atlasTechniques: ['AML.T0051.000'],
      observables: { model: { id: 'anthropic.claude-3-5-sonnet' }, sessionIds: ['s-7'], users: [] },
    });
    expect(draft.firstSeen).toBe(draft.lastSeen);
    expect(draft.dedupKey).toBeUndefined();
  });

  it('reads entries without `detected` by their action, PII outranking a topic', () => {
    const draft = bedrockGuardrailsFormat.normalize(piiAndTopic);
    expect(draft).toMatchObject({
      type: 'data_exfiltration',
      title: 'Bedrock guardrail intervened: topic Investment advice, PII EMAIL',
      severityId: 3,
      atlasTechniques: ['AML.T0057'],
    });
    // The matched PII value is not copied into the title or description.
    expect(JSON.stringify({ t: draft.title, d: draft.description })).not.toContain('jane@');
  });

  it('keeps a detect-mode verdict (action NONE, detected true) as a policy violation', () => {
    expect(bedrockGuardrailsFormat.normalize(detectOnly)).toMatchObject({
      type: 'output_policy_violation',
      title:
        'Bedrock guardrail detected: content VIOLENCE, word list PROFANITY, grounding GROUNDING',
      severityId: 3,
      atlasTechniques: ['AML.T0048'],
    });
  });

  it('reads the input and output assessments of a Converse guardrail trace', () => {
    expect(bedrockGuardrailsFormat.normalize(converseIntervened)).toMatchObject({
      type: 'prompt_injection',
      title: 'Bedrock guardrail intervened: content PROMPT_ATTACK, custom word',
      description: 'Guardrail blocked.',
      severityId: 3,
    });
  });

  it('keeps an intervention whose policies it cannot read, as Medium and other', () => {
    expect(
      bedrockGuardrailsFormat.normalize({ action: 'GUARDRAIL_INTERVENED', assessments: [] }),
    ).toMatchObject({
      type: 'other',
      title: 'Bedrock guardrail intervened',
      severityId: 3,
      atlasTechniques: [],
    });
  });

  it.each(errorCases)('rejects %s', (_label, payload, code, field) => {
    const error = errorOf(payload);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
  });
});

describe('guardrailFindings', () => {
  it('reads content filter confidence as severity', () => {
    const filters = ['HIGH', 'MEDIUM', 'LOW', 'NONE', undefined].map((confidence) => ({
      type: 'INSULTS',
      confidence,
      action: 'BLOCKED',
    }));
    expect(guardrailFindings({ contentPolicy: { filters } }).map((f) => f.severityId)).toEqual([
      4, 3, 2, 1, 3,
    ]);
  });

  it('ignores odd entries and undetected ones', () => {
    expect(
      guardrailFindings({
        contentPolicy: { filters: [null, 'x', { type: 'HATE', action: 'NONE' }] },
        topicPolicy: 'x',
      }),
    ).toEqual([]);
    expect(guardrailFindings(null)).toEqual([]);
  });
});
