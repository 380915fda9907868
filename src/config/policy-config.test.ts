import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BUILTIN_CONTAINMENT_POLICY,
  decideContainment,
  explainContainment,
} from '../core/containment-policy.js';
import { WardenError } from '../core/errors.js';
import { EMPTY_ROUTER, routeAlert, unknownPlaybookIds } from '../core/playbook-router.js';
import { loadContainmentPolicy, loadRouter } from './policy-config.js';
import { loadWardenConfig } from './warden-config.js';

const DEMO_DIR = fileURLToPath(new URL('../../examples/demo', import.meta.url));

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function configDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-policy-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function loadError(load: () => unknown): WardenError {
  try {
    load();
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected an invalid_config error');
}

describe('the demo config directory', () => {
  const inventory = loadWardenConfig(DEMO_DIR).inventory;
  const policy = loadContainmentPolicy(DEMO_DIR);
  const router = loadRouter(DEMO_DIR, { inventory });

  it('loads policy.yaml and router.yaml next to the inventory', () => {
    expect(policy.file).toBe(join(DEMO_DIR, 'policy.yaml'));
    expect(Object.keys(policy.defaults)).toEqual(['tier1', 'tier2', 'tier3', 'untiered']);
    expect(Object.isFrozen(policy.types)).toBe(true);
    expect(router.defaultPlaybook).toBe('federated-router');
  });

  it('routes only to the demo playbooks', () => {
    expect(
      unknownPlaybookIds(router, [
        'inference-spike-external-range',
        'poisoned-dataset-upload',
        'model-integrity-rollback',
        'federated-router',
      ]),
    ).toEqual([]);
  });

  it('quarantines a poisoned dataset of a tier-1 retail model at once, the model only with approval', () => {
    const poisoned = {
      type: 'data_poisoning' as const,
      enrichment: { tier: 1 as const, businessUnit: 'retail-banking', environment: 'prod' },
    };
    expect(decideContainment(poisoned, 'quarantine_dataset', policy).mode).toBe('automatic');
    expect(decideContainment(poisoned, 'quarantine_model', policy)).toMatchObject({
      mode: 'approval',
      approvers: ['admin'],
    });
    expect(explainContainment(poisoned, policy).cell.source).toMatchObject({
      file: join(DEMO_DIR, 'policy.yaml'),
    });
    expect(routeAlert(poisoned, router).playbookId).toBe('poisoned-dataset-upload');
  });
});

describe('loadContainmentPolicy', () => {
  it('uses the built-in policy when there is no policy.yaml', () => {
    expect(loadContainmentPolicy(configDir({}))).toBe(BUILTIN_CONTAINMENT_POLICY);
  });

  it('reads defaults, overrides, "*" cells and approvers with their positions', () => {
    const dir = configDir({
      'policy.yaml': [
        'approvers: [admin]',
        'defaults:',
        '  tier1: { automatic: [notify_owner], approval: [block_source] }',
        'types:',
        '  model_drift:',
        '    "*": { automatic: [open_ticket], notify_only: [rollback_model] }',
        '    tier1:',
        '      approval: [rollback_model]',
        '      approvers: [responder]',
        '',
      ].join('\n'),
    });
    const policy = loadContainmentPolicy(dir);
    expect(policy.defaults.tier1).toEqual({
      automatic: ['notify_owner'],
      approval: ['block_source'],
      notifyOnly: [],
      approvers: ['admin'],
      source: { file: join(dir, 'policy.yaml'), line: 3, column: 3 },
    });
    expect(policy.types.model_drift?.['*']).toMatchObject({
      notifyOnly: ['rollback_model'],
      approvers: ['admin'],
      source: { line: 6, column: 5 },
    });
    expect(policy.types.model_drift?.tier1?.approvers).toEqual(['responder']);
  });

  it('rejects an intent listed twice in one cell, pointing at the repeat', () => {
    const error = loadError(() =>
      loadContainmentPolicy(
        configDir({
          'policy.yaml': [
            'types:',
            '  jailbreak:',
            '    tier1:',
            '      automatic: [notify_owner, terminate_session]',
            '      approval: [block_user, terminate_session]',
          ].join('\n'),
        }),
      ),
    );
    expect(error.code).toBe('invalid_config');
    expect(error.field).toBe('types.jailbreak.tier1.approval[1]');
    expect(error.message).toMatch(
      /policy\.yaml:5:30: types\.jailbreak\.tier1\.approval\[1\] "terminate_session" is already listed under automatic/,
    );
  });

  it('rejects an unknown intent with file:line:col and the field path', () => {
    const error = loadError(() =>
      loadContainmentPolicy(
        configDir({
          'policy.yaml': 'defaults:\n  tier2:\n    automatic: [notify_owner, block_ip]\n',
        }),
      ),
    );
    expect(error.field).toBe('defaults.tier2.automatic[1]');
    expect(error.details).toMatchObject({ line: 3, column: 31 });
    expect(error.message).toContain('"block_ip" is not a containment intent (expected one of: ');
  });

  it.each([
    [
      'an unknown alert type',
      'types:\n  poisoning:\n    tier1: {}\n',
      'types.poisoning is not a known key',
      2,
      3,
    ],
    ['an unknown tier', 'defaults:\n  tier4: {}\n', 'defaults.tier4 is not a known key', 2, 3],
    ['an unknown role', 'approvers: [admin, root]\n', 'approvers[1] "root" is not a role', 1, 20],
    ['viewer as approver', 'approvers: [viewer]\n', 'approvers[0] viewer cannot approve', 1, 13],
    [
      'an ingest token as approver',
      'approvers: [admin, ingest]\n',
      'approvers[1] ingest cannot approve actions (approvers are among: analyst, responder, admin)',
      1,
      20,
    ],
    [
      'an empty approver list',
      'defaults:\n  tier1: { approvers: [] }\n',
      'defaults.tier1.approvers must not be empty',
      2,
      23,
    ],
    [
      'an empty cell',
      'types:\n  jailbreak:\n    tier1:\n',
      'types.jailbreak.tier1 must be a mapping (got nothing)',
      3,
      5,
    ],
    [
      'an unknown cell key',
      'defaults:\n  tier1: { auto: [] }\n',
      'defaults.tier1.auto is not a known key',
      2,
      12,
    ],
    ['unquoted "*"', 'defaults:\n  *: {}\n', 'the all-tiers key must be quoted', 2, 3],
  ])('rejects %s', (_what, text, message, line, column) => {
    const error = loadError(() => loadContainmentPolicy(configDir({ 'policy.yaml': text })));
    expect(error.code).toBe('invalid_config');
    expect(error.message).toContain(message);
    expect(error.details).toMatchObject({ line, column });
  });
});

describe('loadRouter', () => {
  const inventory = loadWardenConfig(DEMO_DIR).inventory;

  it('has no routes and no default without router.yaml', () => {
    expect(loadRouter(configDir({}))).toBe(EMPTY_ROUTER);
  });

  it('reads scalars or lists for every match key, with positions', () => {
    const dir = configDir({
      'router.yaml': [
        'routes:',
        '  - name: retail poisoning',
        '    match: { business_unit: retail-banking, type: [data_poisoning], environment: prod, tier: [1, untiered] }',
        '    playbook: retail-poisoning',
        '  - match: { model: support-chatbot }',
        '    playbook: chatbot',
        'default: triage',
      ].join('\n'),
    });
    const router = loadRouter(dir, { inventory });
    expect(router.routes).toEqual([
      {
        name: 'retail poisoning',
        match: {
          business_unit: ['retail-banking'],
          type: ['data_poisoning'],
          environment: ['prod'],
          tier: [1, 'untiered'],
        },
        playbook: 'retail-poisoning',
        source: { file: join(dir, 'router.yaml'), line: 2, column: 5 },
      },
      {
        match: { model: ['support-chatbot'] },
        playbook: 'chatbot',
        source: { file: join(dir, 'router.yaml'), line: 5, column: 5 },
      },
    ]);
    expect(router.defaultPlaybook).toBe('triage');
    expect(router.defaultSource).toMatchObject({ line: 7, column: 1 });
  });

  it.each([
    [
      'a business unit the inventory does not declare',
      'routes:\n  - match: { business_unit: retail }\n    playbook: p\n',
      'routes[0].match.business_unit must be a business unit declared in inventory.yaml (retail-banking',
      2,
    ],
    [
      'an environment no model has',
      'routes:\n  - match:\n      environment: [prod, production]\n    playbook: p\n',
      'routes[0].match.environment[1] must be the environment of a model in inventory.yaml (prod, staging, dev)',
      3,
    ],
    [
      'an unknown alert type',
      'routes:\n  - match: { type: poisoning }\n    playbook: p\n',
      'routes[0].match.type must be an alert type',
      2,
    ],
    [
      'tier 4',
      'routes:\n  - match: { tier: [4] }\n    playbook: p\n',
      'must be 1, 2, 3 or untiered (got 4)',
      2,
    ],
    [
      'an empty match',
      'routes:\n  - match: {}\n    playbook: p\n',
      'routes[0].match must name at least one of type, business_unit',
      2,
    ],
    [
      'a missing playbook',
      'routes:\n  - match: { tier: 1 }\n',
      'routes[0].playbook is required',
      2,
    ],
    [
      'a repeated route name',
      'routes:\n  - { name: a, match: { tier: 1 }, playbook: p }\n  - { name: a, match: { tier: 2 }, playbook: q }\n',
      'routes[1].name "a" is already used by routes[0]',
      3,
    ],
    [
      'an unknown key',
      'routes: []\nfallback: p\n',
      'fallback is not a known key (expected one of: routes, default)',
      2,
    ],
  ])('rejects %s', (_what, text, message, line) => {
    const error = loadError(() => loadRouter(configDir({ 'router.yaml': text }), { inventory }));
    expect(error.code).toBe('invalid_config');
    expect(error.message).toContain(message);
    expect(error.details).toMatchObject({ line });
  });

  it('accepts any unit or environment when no inventory is given', () => {
    const dir = configDir({
      'router.yaml': 'routes:\n  - match: { business_unit: anything }\n    playbook: p\n',
    });
    expect(loadRouter(dir).routes[0]?.match.business_unit).toEqual(['anything']);
  });
});
