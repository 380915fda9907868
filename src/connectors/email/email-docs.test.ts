import { describe, expect, it } from 'vitest';
import { loadConnectorsFromYaml } from '../../../test/support/connector-test-kit.js';
import {
  blockAfter,
  compileSteps,
  connectorDoc,
  docExample,
} from '../../../test/support/doc-examples.js';
import { EMAIL_ACTIONS } from './email-connector.js';
import { EMAIL_CONNECTOR_TYPE } from './email-connector-config.js';

/** docs/connectors/email.md: its examples load as written, and every action is there. */
const docs = connectorDoc('email.md');

describe('docs/connectors/email.md', () => {
  it('has a connectors.yaml that loads', () => {
    const registry = loadConnectorsFromYaml(docExample(docs, 'connectors.yaml'), {
      secrets: { SMTP_PASSWORD: 'p4ssw0rd-example' },
      types: [EMAIL_CONNECTOR_TYPE],
    });
    expect(registry.get('mail').type).toBe('email');
    expect(registry.get('local_relay').type).toBe('email');
  });

  it('has steps that load in a playbook', () => {
    const steps = [blockAfter(docs, '## notify'), blockAfter(docs, '## send')];
    const playbook = compileSteps(steps, 'docs/connectors/email.md');
    expect(playbook.steps.map((step) => step.id)).toEqual(['tell_owner', 'report']);
  });

  it('documents every action', () => {
    for (const action of Object.keys(EMAIL_ACTIONS)) {
      expect(docs, action).toContain(`## ${action}`);
    }
  });
});
