import { describe, expect, it } from 'vitest';
import { closeCase, openCaseFor, type Case } from '../core/case.js';
import type { PlaybookRouter } from '../core/playbook-router.js';
import { parsePlaybook } from './playbook-loader.js';
import type { Playbook } from './playbook.js';
import { sampleSpikeAlert } from './sample-alert.test-support.js';
import { triggersForClosedCase, triggersForNewCase } from './run-trigger.js';

const lines = (...text: string[]): string => `${text.join('\n')}\n`;

function playbook(id: string, ...trigger: string[]): Playbook {
  return parsePlaybook(
    lines(
      `id: ${id}`,
      'version: 1',
      `title: ${id}`,
      'owner: secops@example.com',
      'trigger:',
      ...trigger.map((t) => `  ${t}`),
      'steps:',
      '  - { id: done, goto: end }',
    ),
    `${id}.yaml`,
  );
}

const alert = sampleSpikeAlert();

function caseOf(closedAs?: 'benign' | 'true_positive_contained'): Case {
  const c = openCaseFor(alert, [], { id: 'c1', number: 7, now: alert.receivedAt });
  if (closedAs) closeCase(c, closedAs, null, '2026-01-05T11:00:00.000Z');
  return c;
}

const byId = (...playbooks: Playbook[]): ReadonlyMap<string, Playbook> =>
  new Map(playbooks.map((p) => [p.id, p]));

const NO_ROUTER: PlaybookRouter = { routes: [] };

describe('triggersForNewCase', () => {
  it('starts the playbooks on new cases only; on: new_case is the default', () => {
    const spike = playbook('spike', 'types: [inference_spike]');
    const explicit = playbook('explicit', 'on: new_case');
    const onClose = playbook('on-close', 'on: case_closed');
    expect(spike.trigger.on).toBe('new_case');
    const chosen = triggersForNewCase(alert, caseOf(), NO_ROUTER, byId(spike, explicit, onClose));
    expect(chosen).toEqual([
      { playbookId: 'spike', reason: 'its trigger matches the alert' },
      { playbookId: 'explicit', reason: 'its trigger matches the alert' },
    ]);
  });

  it('says why when the router picks a playbook that starts on a close', () => {
    const onClose = playbook('on-close', 'on: case_closed');
    const router: PlaybookRouter = { routes: [], defaultPlaybook: 'on-close' };
    expect(triggersForNewCase(alert, caseOf(), router, byId(onClose))).toEqual({
      reason: expect.stringMatching(
        /^the router chose on-close \(.*\), which starts on case_closed, not on a new case$/,
      ) as string,
    });
  });
});

describe('triggersForClosedCase', () => {
  it('starts every playbook on case_closed whose types and condition match the closed case', () => {
    const any = playbook('any', 'on: case_closed');
    const spikes = playbook('spikes', 'on: case_closed', 'types: [jailbreak, inference_spike]');
    const jailbreaks = playbook('jailbreaks', 'on: case_closed', 'types: [jailbreak]');
    const benign = playbook(
      'benign',
      'on: case_closed',
      'when: \'case.closureReason == "benign"\'',
    );
    const newCase = playbook('new', 'types: [inference_spike]');
    const all = byId(any, spikes, jailbreaks, benign, newCase);

    const contained = triggersForClosedCase(alert, caseOf('true_positive_contained'), all);
    expect(contained.map((t) => t.playbookId)).toEqual(['any', 'spikes']);
    expect(contained[0]?.reason).toBe('case #7 closed (true_positive_contained)');
    const closedBenign = triggersForClosedCase(alert, caseOf('benign'), all);
    expect(closedBenign.map((t) => t.playbookId)).toEqual(['any', 'spikes', 'benign']);
  });

  it('a condition that fails to evaluate starts nothing', () => {
    const broken = playbook('broken', 'on: case_closed', 'when: \'alert.enrichment.owner == "x"\'');
    expect(triggersForClosedCase(alert, caseOf('benign'), byId(broken))).toEqual([]);
  });
});
