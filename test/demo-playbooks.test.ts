import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContainmentPolicy } from '../src/config/policy-config.js';
import { loadWardenConfig } from '../src/config/warden-config.js';
import { localConnectors } from '../src/connectors/local-connectors.js';
import { InventoryIndex } from '../src/core/inventory.js';
import { startDemoServices, type DemoServices } from '../src/demo/demo-services.js';
import { openWarden, type Warden } from '../src/main.js';
import { loadPlaybooks } from '../src/playbooks/playbook-loader.js';
import { runPlaybookTest } from '../src/playbooks/playbook-test-runner.js';
import { normalizePayload } from '../src/sources/source-registry.js';
import { DEMO_CONFIG } from './support/warden-harness.js';

const config = loadWardenConfig(DEMO_CONFIG);
const inventory = new InventoryIndex(config.inventory);
const playbooks = loadPlaybooks(join(DEMO_CONFIG, 'playbooks'));

describe('the demo estate’s playbooks pass their own tests', () => {
  it('ships the scenarios: a spike from a range, a poisoned upload, a federated router', () => {
    expect(playbooks.map((p) => p.id).sort()).toEqual([
      'federated-router',
      'inference-spike-external-range',
      'llm-abuse-triage',
      'poisoned-dataset-upload',
    ]);
  });

  for (const playbook of playbooks) {
    for (const test of playbook.tests) {
      it(`${playbook.id} › ${test.name}`, async () => {
        const result = await runPlaybookTest(playbook, test, {
          inventory,
          policy: loadContainmentPolicy(DEMO_CONFIG),
          playbooks: new Map(playbooks.map((p) => [p.id, p])),
          readAlertFile: (path) => JSON.parse(readFileSync(path, 'utf8')) as unknown,
          localConnectors: localConnectors(inventory),
        });
        expect(result.failures).toEqual([]);
      });
    }
  }
});

describe('the demo, end to end: alerts in, actions out through the demo services', () => {
  let dir: string;
  let services: DemoServices;
  let warden: Warden;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-demo-'));
    services = await startDemoServices({ port: 0, log: () => undefined });
    const configDir = join(dir, 'config');
    cpSync(DEMO_CONFIG, configDir, { recursive: true });
    const connectors = join(configDir, 'connectors.yaml');
    writeFileSync(
      connectors,
      readFileSync(connectors, 'utf8').replaceAll('http://127.0.0.1:8089', services.url),
    );
    warden = openWarden({
      configDir,
      dataDir: join(dir, 'data'),
      ingestThread: false,
      playbooks: 'queue',
    });
  });
  afterAll(async () => {
    await warden.close();
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ingest(payload: unknown): Promise<string> {
    const [outcome] = await warden.ingest.submit([
      warden.preparer.prepare(normalizePayload(payload)),
    ]);
    await warden.executor?.idle();
    return outcome?.caseId ?? '';
  }

  it('blocks a hostile range in front of a tier-2 model, and quarantines a poisoned upload', async () => {
    const spike = await ingest({
      type: 'inference_spike',
      title: 'Request volume 500% above baseline',
      severity: 'high',
      observables: { ips: ['203.0.113.7'], model: { id: 'sentiment-analysis' } },
    });
    const poisoned = await ingest({
      type: 'data_poisoning',
      title: 'Label flipping in an upload',
      severity: 'high',
      observables: {
        dataset: { id: 'ds-customer-profiles', hash: 'sha256:9f2c' },
        users: ['contractor-42'],
        api_key_ids: ['key-7f3a'],
      },
    });
    expect(services.actions.map((a) => `${a.service} ${a.action} ${a.target}`)).toEqual([
      'firewall blocked 203.0.113.0/24',
      'feature-store quarantined ds-customer-profiles',
      'gateway disabled API key key-7f3a',
    ]);
    for (const caseId of [spike, poisoned]) {
      expect((await warden.store.getCase(caseId))?.phase).toBe('containment');
      const [run] = await warden.store.listRunsForCase(caseId);
      expect(run?.status).toBe('succeeded');
    }
  });
});
