import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import { InventoryIndex } from '../core/inventory.js';
import { DEFAULT_PIPELINE_SETTINGS } from '../core/settings.js';
import {
  DEFAULT_INGEST_SETTINGS,
  DEFAULT_SERVER_SETTINGS,
  loadWardenConfig,
} from './warden-config.js';

const DEMO_DIR = fileURLToPath(new URL('../../examples/demo', import.meta.url));

describe('loadWardenConfig on examples/demo', () => {
  const config = loadWardenConfig(DEMO_DIR);

  it('reads the whole estate', () => {
    expect(config.dir).toBe(DEMO_DIR);
    expect(config.inventory.businessUnits.map((unit) => unit.id)).toEqual([
      'retail-banking',
      'customer-experience',
      'platform-engineering',
    ]);
    expect(config.inventory.models).toHaveLength(10);
    expect(config.inventory.datasets).toHaveLength(7);
    expect(config.inventory.allowlists).toHaveLength(2);
    expect(new Set(config.inventory.models.map((model) => model.tier))).toEqual(new Set([1, 2, 3]));
    expect(new Set(config.inventory.models.map((model) => model.environment))).toEqual(
      new Set(['prod', 'staging', 'dev']),
    );
  });

  it('maps snake_case YAML onto the core types', () => {
    expect(config.inventory.models.find((model) => model.id === 'customer-churn')).toEqual({
      id: 'customer-churn',
      name: 'Customer Churn Prediction',
      owner: 'ml-retail@bank.example',
      businessUnit: 'retail-banking',
      environment: 'prod',
      tier: 1,
      endpoints: [
        '/v1/models/customer-churn:predict',
        'https://inference.bank.example/v1/models/customer-churn:predict',
      ],
      registryName: 'customer-churn',
      datasets: ['ds-customer-profiles'],
      featureStores: ['fs-customer-360'],
      description: 'Flags customers likely to leave so retention offers can be made.',
    });
    expect(config.inventory.businessUnits[0]).toEqual({
      id: 'retail-banking',
      name: 'Retail Banking',
      onCall: 'retail-ml-oncall@bank.example',
    });
    expect(config.inventory.datasets.find((d) => d.id === 'ds-customer-profiles')).toEqual({
      id: 'ds-customer-profiles',
      name: 'Customer Profiles',
      featureStore: 'fs-customer-360',
      owner: 'data-customer@bank.example',
      businessUnit: 'retail-banking',
    });
    // Absent optionals stay absent rather than becoming `undefined` keys.
    const experiment = config.inventory.models.find((model) => model.id === 'exp-churn-v2');
    expect(experiment && 'registryName' in experiment).toBe(false);
    expect(experiment?.endpoints).toEqual([]);
  });

  it('reads warden.yaml', () => {
    expect(config.server).toEqual({
      host: '0.0.0.0',
      port: 8080,
      bodyLimitBytes: 10 * 1024 * 1024,
    });
    expect(config.pipeline).toEqual({
      dedupWindowMs: 3_600_000,
      correlationWindowMs: 86_400_000,
      caseWriteIntervalMs: 1000,
    });
    expect(config.ingest).toEqual({ deadLetter: false });
  });

  it('gives customer-churn a blast radius reaching sentiment-analysis and exp-churn-v2', () => {
    const index = new InventoryIndex(config.inventory);
    const churn = index.findModel(
      'https://inference.bank.example/v1/models/customer-churn:predict',
    );
    expect(churn?.id).toBe('customer-churn');
    if (!churn) return;
    const radius = index.blastRadius(churn);
    expect(radius).toEqual(expect.arrayContaining(['sentiment-analysis', 'exp-churn-v2']));
    expect(radius).not.toContain('fraud-detection');
    const fraud = index.findModel('fraud-detection');
    expect(fraud && index.blastRadius(fraud)).toContain('credit-risk-scoring');
  });

  it('allow-lists the scanner and probe ranges', () => {
    const index = new InventoryIndex(config.inventory);
    const matches = index.allowlistMatches([
      '10.20.30.7',
      '192.0.2.10',
      '10.20.40.15',
      '10.20.40.16',
    ]);
    expect(matches.map((m) => [m.list, m.cidr, m.ip])).toEqual([
      ['internal-scanners', '10.20.30.0/24', '10.20.30.7'],
      ['internal-scanners', '192.0.2.0/24', '192.0.2.10'],
      ['monitoring-probes', '10.20.40.0/28', '10.20.40.15'],
    ]);
    expect(matches[0]?.reason).toBe('weekly load and vulnerability scans by the platform team');
  });

  it('is frozen all the way down', () => {
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(Object.isFrozen(config.inventory.models)).toBe(true);
    expect(Object.isFrozen(config.inventory.models[0]?.endpoints)).toBe(true);
  });
});

const VALID_INVENTORY = [
  'business_units:',
  '  - id: retail',
  '    name: Retail',
  'models:',
  '  - id: churn',
  '    name: Churn',
  '    owner: ml@bank.example',
  '    business_unit: retail',
  '    environment: prod',
  '    tier: 1',
].join('\n');

describe('loadWardenConfig on broken config directories', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function configDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'warden-config-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  function loadError(files: Record<string, string>): WardenError {
    try {
      loadWardenConfig(configDir(files));
    } catch (error) {
      expect(error).toBeInstanceOf(WardenError);
      expect((error as WardenError).code).toBe('invalid_config');
      return error as WardenError;
    }
    throw new Error('expected loadWardenConfig to throw');
  }

  function inventory(...lines: string[]): Record<string, string> {
    return { 'inventory.yaml': lines.join('\n') };
  }

  it('applies defaults when warden.yaml is absent', () => {
    const config = loadWardenConfig(configDir({ 'inventory.yaml': VALID_INVENTORY }));
    expect(config.server).toEqual(DEFAULT_SERVER_SETTINGS);
    expect(config.pipeline).toEqual(DEFAULT_PIPELINE_SETTINGS);
    expect(config.ingest).toEqual(DEFAULT_INGEST_SETTINGS);
    expect(config.inventory.models[0]).toMatchObject({ id: 'churn', tier: 1, endpoints: [] });
    expect(config.inventory.datasets).toEqual([]);
  });

  it('accepts an empty warden.yaml and partial sections', () => {
    expect(
      loadWardenConfig(configDir({ 'inventory.yaml': VALID_INVENTORY, 'warden.yaml': '' })).server,
    ).toEqual(DEFAULT_SERVER_SETTINGS);
    const config = loadWardenConfig(
      configDir({
        'inventory.yaml': VALID_INVENTORY,
        'warden.yaml': 'server:\n  port: 0\n  body_limit: 512kb\npipeline:\n  dedup_window: 90s\n',
      }),
    );
    expect(config.server).toEqual({ host: '0.0.0.0', port: 0, bodyLimitBytes: 512 * 1024 });
    expect(config.pipeline).toEqual({
      dedupWindowMs: 90_000,
      correlationWindowMs: DEFAULT_PIPELINE_SETTINGS.correlationWindowMs,
      caseWriteIntervalMs: DEFAULT_PIPELINE_SETTINGS.caseWriteIntervalMs,
    });
  });

  it('reads pipeline.case_write_interval, where 0 writes every case with every commit', () => {
    const read = (text: string) =>
      loadWardenConfig(configDir({ 'inventory.yaml': VALID_INVENTORY, 'warden.yaml': text }))
        .pipeline.caseWriteIntervalMs;
    expect(read('pipeline:\n  case_write_interval: 250ms\n')).toBe(250);
    expect(read('pipeline:\n  case_write_interval: 2s\n')).toBe(2000);
    expect(read('pipeline:\n  case_write_interval: 0\n')).toBe(0);
    expect(read('pipeline:\n  case_write_interval: 0s\n')).toBe(0);
    expect(() => read('pipeline:\n  case_write_interval: soon\n')).toThrow(
      'pipeline.case_write_interval must be a duration',
    );
  });

  it('reads ingest.dead_letter, off by default', () => {
    const read = (text: string) =>
      loadWardenConfig(configDir({ 'inventory.yaml': VALID_INVENTORY, 'warden.yaml': text }))
        .ingest;
    expect(read('server:\n  port: 0\n')).toEqual({ deadLetter: false });
    expect(read('ingest:\n  dead_letter: true\n')).toEqual({ deadLetter: true });
    expect(read('ingest: { dead_letter: false }\n')).toEqual({ deadLetter: false });
  });

  it('reports a missing directory by path', () => {
    const missing = join(tmpdir(), 'warden-config-does-not-exist');
    expect(() => loadWardenConfig(missing)).toThrow(`config directory not found: ${missing}`);
  });

  it('reports a missing inventory.yaml by path', () => {
    const dir = configDir({ 'warden.yaml': 'server:\n  port: 8080\n' });
    expect(() => loadWardenConfig(dir)).toThrow(`${join(dir, 'inventory.yaml')} not found`);
  });

  it('reports YAML syntax errors with their line', () => {
    const error = loadError(
      inventory('models:', '  - id: churn', '    name: [unclosed', '  - id: x'),
    );
    // The unclosed flow sequence is noticed where the next item starts.
    expect(error.message).toContain('inventory.yaml:4:3: invalid YAML: Flow sequence');
    expect(error.details).toMatchObject({ line: 4, column: 3 });
  });

  it('reports duplicate YAML keys', () => {
    const error = loadError(inventory('models: []', 'models: []'));
    expect(error.message).toMatch(/inventory\.yaml:2:1: invalid YAML: .*unique/i);
  });

  it('reports a tier out of range at the tier value', () => {
    const error = loadError({ 'inventory.yaml': VALID_INVENTORY.replace('tier: 1', 'tier: 4') });
    expect(error.message).toContain('inventory.yaml:10:11: models[0].tier must be 1, 2 or 3');
    expect(error.field).toBe('models[0].tier');
    expect(error.details).toMatchObject({ line: 10, column: 11 });
  });

  it('reports a non-numeric tier', () => {
    const error = loadError({ 'inventory.yaml': VALID_INVENTORY.replace('tier: 1', 'tier: gold') });
    expect(error.message).toContain(
      'inventory.yaml:10:11: models[0].tier must be 1, 2 or 3 (got "gold")',
    );
  });

  it('reports a missing required field at the entry', () => {
    const error = loadError({
      'inventory.yaml': VALID_INVENTORY.replace('    owner: ml@bank.example\n', ''),
    });
    expect(error.message).toContain('inventory.yaml:5:5: models[0].owner is required');
  });

  it('reports a required field left empty at its key', () => {
    const error = loadError({
      'inventory.yaml': VALID_INVENTORY.replace('environment: prod', 'environment:'),
    });
    expect(error.message).toContain('inventory.yaml:9:5: models[0].environment is required');
  });

  it('reports an undeclared business unit', () => {
    const error = loadError({
      'inventory.yaml': VALID_INVENTORY.replace('business_unit: retail', 'business_unit: retial'),
    });
    expect(error.message).toContain(
      'inventory.yaml:8:20: models[0].business_unit "retial" is not a declared business unit (declared: retail)',
    );
  });

  it('reports a duplicate model id at the repeat', () => {
    const error = loadError(
      inventory(
        VALID_INVENTORY,
        '  - id: churn',
        '    name: Churn again',
        '    owner: ml@bank.example',
        '    business_unit: retail',
        '    environment: dev',
        '    tier: 3',
      ),
    );
    expect(error.message).toContain(
      'inventory.yaml:11:9: models[1].id "churn" is already used by models[0]',
    );
  });

  it('reports a model reading an undeclared dataset', () => {
    const error = loadError(inventory(VALID_INVENTORY, '    datasets: [ds-profiles]'));
    expect(error.message).toMatch(
      /inventory\.yaml:11:16: models\[0\]\.datasets\[0\] "ds-profiles" is not a declared dataset \(declared: none\)/,
    );
  });

  it('reports an endpoint claimed by two models', () => {
    const error = loadError(
      inventory(
        VALID_INVENTORY,
        '    endpoints: [/v1/models/churn:predict]',
        '  - id: churn-v2',
        '    name: Churn v2',
        '    owner: ml@bank.example',
        '    business_unit: retail',
        '    environment: dev',
        '    tier: 3',
        '    endpoints: [/v1/models/CHURN:predict]',
      ),
    );
    expect(error.message).toContain(
      'models[1].endpoints[0] "/v1/models/CHURN:predict" already identifies models[0]',
    );
  });

  it('reports an unparseable allow-list cidr', () => {
    const error = loadError(
      inventory(
        VALID_INVENTORY,
        'allowlists:',
        '  - name: scanners',
        '    cidrs:',
        '      - 10.20.30.0/24',
        '      - 10.20.300.0/24',
        '  - name: probes',
        '    cidrs: [10.0.0.0/]',
      ),
    );
    expect(error.message).toContain(
      'inventory.yaml:15:9: allowlists[0].cidrs[1] "10.20.300.0/24" is not an IP address or CIDR range',
    );
  });

  it('rejects a cidr with an empty prefix', () => {
    const error = loadError(
      inventory(VALID_INVENTORY, 'allowlists:', '  - name: probes', '    cidrs: [10.0.0.0/]'),
    );
    expect(error.message).toContain('inventory.yaml:13:13: allowlists[0].cidrs[0] "10.0.0.0/"');
  });

  it('rejects unknown top-level keys', () => {
    const error = loadError(inventory(VALID_INVENTORY, 'allow_lists: []'));
    expect(error.message).toContain(
      'inventory.yaml:11:1: allow_lists is not a known key (expected one of: business_units, models, datasets, allowlists)',
    );
  });

  it('rejects unknown keys inside entries', () => {
    const error = loadError({
      'inventory.yaml': VALID_INVENTORY.replace('tier: 1', 'teir: 1'),
    });
    expect(error.message).toContain('inventory.yaml:10:5: models[0].teir is not a known key');
  });

  it('rejects wrongly shaped sections', () => {
    expect(loadError(inventory('models: churn')).message).toContain(
      'inventory.yaml:1:9: models must be a list (got "churn")',
    );
    expect(loadError(inventory('- churn')).message).toContain(
      'inventory.yaml:1:1: the top level must be a mapping',
    );
    expect(loadError(inventory('models:', '  - churn')).message).toContain(
      'inventory.yaml:2:5: models[0] must be a mapping (got "churn")',
    );
  });

  it('reports bad warden.yaml values with their location', () => {
    const files = (text: string): Record<string, string> => ({
      'inventory.yaml': VALID_INVENTORY,
      'warden.yaml': text,
    });
    expect(loadError(files('pipeline:\n  dedup_window: 1 hour\n')).message).toContain(
      'warden.yaml:2:17: pipeline.dedup_window must be a duration',
    );
    expect(loadError(files('ingest:\n  dead_letter: yes\n')).message).toContain(
      'warden.yaml:2:16: ingest.dead_letter must be true or false (got "yes")',
    );
    expect(loadError(files('ingest:\n  dead_lettre: true\n')).message).toContain(
      'ingest.dead_lettre is not a known key (expected one of: dead_letter)',
    );
    expect(loadError(files('server:\n  port: 99999\n')).message).toContain(
      'warden.yaml:2:9: server.port must be an integer from 0 to 65535 (got 99999)',
    );
    expect(loadError(files('server:\n  body_limit: lots\n')).message).toContain(
      'warden.yaml:2:15: server.body_limit must be a size',
    );
    expect(loadError(files('server:\n  hostname: localhost\n')).message).toContain(
      'warden.yaml:2:3: server.hostname is not a known key (expected one of: host, port, body_limit)',
    );
    expect(loadError(files('pipelines: {}\n')).message).toContain(
      'warden.yaml:1:1: pipelines is not a known key',
    );
  });
});
