import { describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import { azureContentSafetyFormat, severityIdFromAzureSeverity } from './azure-content-safety.js';
import { describeSourceFormatContract } from './source-format.contract.js';

/*
 * Payloads written from the Azure AI Content Safety REST reference
 * (api-version 2024-09-01): `text:shieldPrompt` ShieldPromptResult
 * (userPromptAnalysis.attackDetected, documentsAnalysis[].attackDetected) and
 * `text:analyze` AnalyzeTextResult (categoriesAnalysis[] of category Hate,
 * SelfHarm, Sexual, Violence with severity 0-7; blocklistsMatch[] of
 * blocklistName, blocklistItemId, blocklistItemText). Values are made up.
 */

const directAttack = { userPromptAnalysis: { attackDetected: true }, documentsAnalysis: [] };

const indirectAttack = {
  userPromptAnalysis: { attackDetected: false },
  documentsAnalysis: [
    { attackDetected: false },
    { attackDetected: true },
    { attackDetected: true },
  ],
};

const documentsOnly = { documentsAnalysis: [{ attackDetected: true }] };

const hateHigh = {
  blocklistsMatch: [],
  categoriesAnalysis: [
    { category: 'Hate', severity: 6 },
    { category: 'SelfHarm', severity: 0 },
    { category: 'Sexual', severity: 0 },
    { category: 'Violence', severity: 3 },
  ],
};

const blocklistOnly = {
  blocklistsMatch: [
    { blocklistName: 'competitors', blocklistItemId: 'b-1', blocklistItemText: 'acme' },
    { blocklistName: 'competitors', blocklistItemId: 'b-2', blocklistItemText: 'globex' },
  ],
  categoriesAnalysis: [{ category: 'Hate', severity: 0 }],
};

function errorOf(payload: unknown): WardenError {
  try {
    azureContentSafetyFormat.normalize(payload);
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected normalize to throw');
}

const errorCases: Array<[string, unknown, 'missing_field' | 'invalid_field', string]> = [
  ['a non-object payload', [], 'invalid_field', '(root)'],
  ['no analysis at all', { blocklistsMatch: [] }, 'missing_field', 'categoriesAnalysis'],
  [
    'attackDetected as text',
    { userPromptAnalysis: { attackDetected: 'yes' } },
    'invalid_field',
    'userPromptAnalysis.attackDetected',
  ],
  [
    'a document without attackDetected',
    { documentsAnalysis: [{ attackDetected: true }, {}] },
    'missing_field',
    'documentsAnalysis[1].attackDetected',
  ],
  [
    'no attack detected',
    {
      userPromptAnalysis: { attackDetected: false },
      documentsAnalysis: [{ attackDetected: false }],
    },
    'invalid_field',
    'userPromptAnalysis.attackDetected',
  ],
  [
    'a severity above 7',
    { categoriesAnalysis: [{ category: 'Hate', severity: 8 }] },
    'invalid_field',
    'categoriesAnalysis[0].severity',
  ],
  [
    'a category without severity',
    { categoriesAnalysis: [{ category: 'Hate' }] },
    'missing_field',
    'categoriesAnalysis[0].severity',
  ],
  [
    'every category safe',
    { blocklistsMatch: [], categoriesAnalysis: [{ category: 'Hate', severity: 0 }] },
    'invalid_field',
    'categoriesAnalysis',
  ],
];

describeSourceFormatContract(azureContentSafetyFormat, {
  valid: [directAttack, indirectAttack, documentsOnly, hateHigh, blocklistOnly],
  invalid: errorCases.map(([, payload]) => payload),
});

describe('azureContentSafetyFormat.normalize', () => {
  it('maps a user prompt attack to direct prompt injection, with the sender context', () => {
    const draft = azureContentSafetyFormat.normalize(directAttack, {
      model: 'gpt-4o',
      user: 'u-1',
    });
    expect(draft).toMatchObject({
      source: {
        format: 'azure-content-safety',
        product: 'Azure AI Content Safety',
        vendor: 'Microsoft',
      },
      type: 'prompt_injection',
      title: 'Azure Prompt Shields: attack in user prompt',
      severityId: 4,
      atlasTechniques: ['AML.T0051.000'],
      observables: { model: { id: 'gpt-4o' }, users: ['u-1'], sessionIds: [] },
    });
    expect(draft.description).toBeUndefined();
    expect(draft.dedupKey).toBeUndefined();
  });

  it('maps an attack in documents to indirect prompt injection, naming the documents', () => {
    expect(azureContentSafetyFormat.normalize(indirectAttack)).toMatchObject({
      title: 'Azure Prompt Shields: attack in documents',
      description: 'Attack detected in documents [1], [2] of 3',
      atlasTechniques: ['AML.T0051.001'],
    });
    expect(
      azureContentSafetyFormat.normalize({
        userPromptAnalysis: { attackDetected: true },
        documentsAnalysis: [{ attackDetected: true }],
      }),
    ).toMatchObject({
      title: 'Azure Prompt Shields: attack in user prompt and documents',
      atlasTechniques: ['AML.T0051.000', 'AML.T0051.001'],
    });
  });

  it('maps text analysis to a policy violation at the highest category band', () => {
    expect(azureContentSafetyFormat.normalize(hateHigh)).toMatchObject({
      type: 'output_policy_violation',
      title: 'Azure Content Safety: Hate, Violence',
      description: 'Category severities (0-7): Hate 6, SelfHarm 0, Sexual 0, Violence 3',
      severityId: 4,
      atlasTechniques: ['AML.T0048'],
    });
  });

  it('alerts on a blocklist match alone, at Medium, naming each list once', () => {
    expect(azureContentSafetyFormat.normalize(blocklistOnly)).toMatchObject({
      title: 'Azure Content Safety: blocklist competitors',
      severityId: 3,
    });
  });

  it.each(errorCases)('rejects %s', (_label, payload, code, field) => {
    const error = errorOf(payload);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
  });
});

describe('severityIdFromAzureSeverity', () => {
  it.each([
    [0, undefined],
    [1, 2],
    [2, 2],
    [3, 3],
    [4, 3],
    [5, 4],
    [6, 4],
    [7, 4],
  ])('reads severity %d as severity id %s', (severity, id) => {
    expect(severityIdFromAzureSeverity(severity)).toBe(id);
  });
});
