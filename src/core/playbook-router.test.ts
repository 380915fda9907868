import { describe, expect, it } from 'vitest';
import type { AlertType } from './alert.js';
import type { ModelTier } from './inventory.js';
import {
  EMPTY_ROUTER,
  routeAlert,
  unknownPlaybookIds,
  type PlaybookRouter,
} from './playbook-router.js';

function alert(
  type: AlertType,
  enrichment: {
    businessUnit?: string;
    environment?: string;
    tier?: ModelTier;
    modelId?: string;
  } = {},
) {
  return { type, enrichment };
}

const retailChurn = {
  businessUnit: 'retail',
  environment: 'prod',
  tier: 1 as const,
  modelId: 'churn',
};

const router: PlaybookRouter = {
  routes: [
    {
      name: 'retail poisoning',
      match: {
        business_unit: ['retail'],
        type: ['data_poisoning'],
        environment: ['prod'],
        tier: [1],
      },
      playbook: 'retail-poisoning',
      source: { file: 'router.yaml', line: 2, column: 5 },
    },
    { match: { type: ['inference_spike', 'cost_harvesting'] }, playbook: 'spike' },
    { name: 'unknown models', match: { tier: ['untiered'] }, playbook: 'triage-unknown' },
    { name: 'churn', match: { model: ['churn'] }, playbook: 'churn-playbook' },
  ],
  defaultPlaybook: 'triage-default',
};

describe('routeAlert', () => {
  it('takes the first route whose every key matches', () => {
    const result = routeAlert(alert('data_poisoning', retailChurn), router);
    expect(result).toMatchObject({
      playbookId: 'retail-poisoning',
      via: 'route',
      route: { index: 0, name: 'retail poisoning' },
    });
    expect(result.checks[0]).toMatchObject({
      outcome: 'matched',
      matchedKeys: ['type', 'business_unit', 'environment', 'tier'],
      source: { line: 2 },
    });
    expect(result.checks.slice(1).map((c) => c.outcome)).toEqual([
      'not_reached',
      'not_reached',
      'not_reached',
    ]);
  });

  it('reports every key that failed, and names unnamed routes by position', () => {
    const result = routeAlert(
      alert('data_poisoning', { ...retailChurn, environment: 'staging', tier: 2 }),
      router,
    );
    expect(result.checks[0]).toMatchObject({
      outcome: 'failed',
      matchedKeys: ['type', 'business_unit'],
      mismatches: [
        { key: 'environment', expected: ['prod'], actual: 'staging' },
        { key: 'tier', expected: [1], actual: 2 },
      ],
    });
    expect(result.checks[1]).toMatchObject({ name: 'routes[1]', outcome: 'failed' });
    // Route 3 (untiered) fails, route 4 matches on the model.
    expect(result).toMatchObject({ playbookId: 'churn-playbook', route: { index: 3 } });
  });

  it('matches any value of a listed key', () => {
    expect(routeAlert(alert('cost_harvesting', retailChurn), router).playbookId).toBe('spike');
  });

  it('routes alerts with no model by tier "untiered"; their missing values fail other keys', () => {
    const result = routeAlert(alert('data_poisoning'), router);
    expect(result.playbookId).toBe('triage-unknown');
    expect(result.checks[0]?.mismatches).toContainEqual({
      key: 'environment',
      expected: ['prod'],
      actual: undefined,
    });
  });

  it('falls back to the default, and says so when there is none', () => {
    const other = alert('jailbreak', { ...retailChurn, modelId: 'fraud' });
    expect(routeAlert(other, router)).toMatchObject({
      playbookId: 'triage-default',
      via: 'default',
      reason: 'no route matches, so the default playbook applies',
    });
    const withoutDefault = { routes: router.routes };
    expect(routeAlert(other, withoutDefault)).toMatchObject({
      playbookId: undefined,
      via: 'none',
      reason: 'no route matches and there is no default, so the alert gets no playbook',
    });
    expect(routeAlert(other, EMPTY_ROUTER).reason).toBe(
      'there are no routes and there is no default, so the alert gets no playbook',
    );
  });
});

describe('unknownPlaybookIds', () => {
  it('lists every reference to a playbook that is not loaded', () => {
    expect(unknownPlaybookIds(router, ['retail-poisoning', 'spike', 'churn-playbook'])).toEqual([
      { playbookId: 'triage-unknown', field: 'routes[2].playbook' },
      { playbookId: 'triage-default', field: 'default' },
    ]);
    expect(
      unknownPlaybookIds(router, [
        'retail-poisoning',
        'spike',
        'churn-playbook',
        'triage-unknown',
        'triage-default',
      ]),
    ).toEqual([]);
  });
});
