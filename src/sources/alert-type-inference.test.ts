import { describe, expect, it } from 'vitest';
import {
  alertTypeFromAtlasTechniques,
  alertTypeFromKeywords,
  atlasTechniqueIdsIn,
} from './alert-type-inference.js';

describe('alertTypeFromAtlasTechniques', () => {
  it.each([
    [['AML.T0051.001'], 'prompt_injection'],
    [['AML.T0040', 'AML.T0024'], 'data_exfiltration'],
    [['AML.T0083'], 'credential_misuse'],
    [['AML.T0010'], undefined],
    [[], undefined],
  ])('reads %j as %s', (ids, type) => {
    expect(alertTypeFromAtlasTechniques(ids)).toBe(type);
  });
});

describe('alertTypeFromKeywords', () => {
  it('reads the first text that names a type, split on case and punctuation', () => {
    expect(
      alertTypeFromKeywords([undefined, 'Suspicious activity', 'AI.Azure_PromptInjection']),
    ).toBe('prompt_injection');
    expect(alertTypeFromKeywords(['Cost spike on tenant t-9', 'Jailbreak'])).toBe(
      'cost_harvesting',
    );
    // "rate" inside a word is no keyword.
    expect(alertTypeFromKeywords(['Moderated generated content'])).toBeUndefined();
  });
});

describe('atlasTechniqueIdsIn', () => {
  it('finds ATLAS ids in free text, once each, and no ATT&CK ids', () => {
    expect(
      atlasTechniqueIdsIn(['AML.T0051.001, T1059', 'AML.T0057 AML.T0051.001', 'AML.T51']),
    ).toEqual(['AML.T0051.001', 'AML.T0057']);
  });
});
