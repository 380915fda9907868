import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../core/errors.js';
import { registerPolicyCommand } from './policy-command.js';

const DEMO_DIR = fileURLToPath(new URL('../../examples/demo', import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-policy-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

function alertFile(name: string, alert: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(alert));
  return path;
}

/** Runs `warden policy …` in-process and returns what it printed. */
async function policy(...args: string[]): Promise<string> {
  const program = new Command('warden').exitOverride();
  registerPolicyCommand(program);
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  await program.parseAsync(['node', 'warden', 'policy', ...args, '--config', DEMO_DIR]);
  return out;
}

describe('warden policy explain', () => {
  it('shows the model, the override cell, every decision and the route', async () => {
    const file = alertFile('spike.json', {
      type: 'inference_spike',
      title: 'Request volume 500% above baseline',
      severity: 'medium',
      observables: { ips: ['203.0.113.7'], model: { id: 'customer-churn' } },
    });
    const out = await policy('explain', file);
    expect(out).toContain('customer-churn (Customer Churn Prediction)');
    expect(out).toContain('unit retail-banking, environment prod, tier 1');
    expect(out).toMatch(
      /Policy cell {2}types\.inference_spike\.tier1 \(override, .*policy\.yaml:\d+:5/,
    );
    expect(out).toMatch(/block_source +approval by responder or admin\n/);
    expect(out).toMatch(/trip_circuit_breaker +approval by responder or admin\n/);
    expect(out).toMatch(/rollback_model +forbidden\n/);
    expect(out).toContain(
      'Playbook     inference-spike-external-range (route "inference spike on a production endpoint")',
    );
    expect(out).toContain('not reached: an earlier route matched');
  });

  it('explains an alert about an unknown model as untiered, routed to the default', async () => {
    const file = alertFile('unknown.json', {
      type: 'prompt_injection',
      title: 'Injected instructions',
      observables: { model: { id: 'shadow-llm' } },
    });
    const out = await policy('explain', file);
    expect(out).toContain('none: the alert names model "shadow-llm", which no inventory model');
    expect(out).toContain('Policy cell  defaults.untiered');
    expect(out).toContain('Playbook     federated-router (default)');
    expect(out).toContain('no match: environment wanted prod, the alert has none');
  });

  it('prints JSON for scripts', async () => {
    const file = alertFile('poison.json', {
      type: 'data_poisoning',
      title: 'Label flips',
      observables: { dataset: { id: 'ds-customer-profiles' } },
    });
    const json = JSON.parse(await policy('explain', file, '--json')) as {
      alert: { enrichment: { modelId: string } };
      containment: { field: string; decisions: { intent: string; mode: string }[] };
      routing: { playbookId: string };
    };
    expect(json.alert.enrichment.modelId).toBe('customer-churn');
    expect(json.containment.field).toBe('types.data_poisoning.tier1');
    expect(json.containment.decisions).toContainEqual({
      intent: 'quarantine_dataset',
      mode: 'automatic',
    });
    expect(json.routing.playbookId).toBe('poisoned-dataset-upload');
  });

  it('refuses a file holding more than one alert', async () => {
    const path = join(dir, 'two.json');
    writeFileSync(path, JSON.stringify([{ type: 'other' }, { type: 'other' }]));
    await expect(policy('explain', path)).rejects.toThrow(WardenError);
  });
});

describe('warden policy show', () => {
  it('prints alert types by tier, then each cell by intent', async () => {
    const out = await policy('show');
    const lines = out.split('\n');
    expect(lines).toContain('ALERT TYPE                 TIER1     TIER2     TIER3     UNTIERED');
    expect(lines.find((line) => line.startsWith('model_drift '))).toMatch(
      /^model_drift +(\d+) +\1 +\1 +\1$/,
    );
    expect(lines.find((line) => line.startsWith('other '))).toMatch(/^other +D1 +D2 +D3 +DU$/);
    expect(lines.find((line) => line.startsWith('block_source '))).toMatch(
      /^block_source +appr +auto +auto +appr /,
    );
    expect(out).toMatch(/\nD1 +defaults\.tier1 +.*policy\.yaml:\d+:3; approvers: responder, admin/);
  });
});
