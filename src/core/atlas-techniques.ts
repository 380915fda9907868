/**
 * Warden's own table of the MITRE ATLAS techniques it maps alerts to: every
 * id an alert type's defaults or a source format can produce or recognise,
 * and every sub-technique of those (a source may name one), with ATLAS's
 * names and tactics (ATLAS data v5.6.0). The public data set is
 * not bundled; `warden atlas import` adds it for names and descriptions of
 * every technique (see `AtlasDataSet`).
 */

/** The ATLAS data version the shipped table was written from. */
export const SHIPPED_ATLAS_VERSION = '5.6.0';

export interface AtlasTactic {
  id: string;
  name: string;
}

export interface AtlasTechnique {
  id: string;
  /** ATLAS's own name; a sub-technique's is short ("Direct"). */
  name: string;
  /** The name to show: "LLM Prompt Injection: Direct" for a sub-technique, else `name`. */
  title: string;
  /** The parent technique's id, for a sub-technique. */
  subtechniqueOf?: string;
  /** A sub-technique has its parent's tactics, as in ATLAS. */
  tactics: AtlasTactic[];
  /** Only in an imported data set: the shipped table carries none. */
  description?: string;
}

/**
 * The compact data set `warden atlas import` writes (`DATA/atlas.json`).
 * Sub-techniques already carry their parent's tactics.
 */
export interface AtlasDataSet {
  version: string;
  techniques: Record<string, AtlasDataSetTechnique>;
  tactics: Record<string, { name: string; description: string }>;
}

export interface AtlasDataSetTechnique {
  name: string;
  description: string;
  tactics: string[];
  subtechniqueOf?: string;
}

/** Every ATLAS tactic, in the order of the ATLAS matrix. */
const TACTICS = {
  'AML.TA0002': 'Reconnaissance',
  'AML.TA0003': 'Resource Development',
  'AML.TA0004': 'Initial Access',
  'AML.TA0000': 'AI Model Access',
  'AML.TA0005': 'Execution',
  'AML.TA0006': 'Persistence',
  'AML.TA0012': 'Privilege Escalation',
  'AML.TA0007': 'Defense Evasion',
  'AML.TA0013': 'Credential Access',
  'AML.TA0008': 'Discovery',
  'AML.TA0015': 'Lateral Movement',
  'AML.TA0009': 'Collection',
  'AML.TA0001': 'AI Attack Staging',
  'AML.TA0014': 'Command and Control',
  'AML.TA0010': 'Exfiltration',
  'AML.TA0011': 'Impact',
} as const;

type TacticId = keyof typeof TACTICS;

type ShippedEntry =
  | { id: string; name: string; tactics: readonly TacticId[] }
  | { id: string; name: string; subtechniqueOf: string };

const SHIPPED: readonly ShippedEntry[] = [
  { id: 'AML.T0010', name: 'AI Supply Chain Compromise', tactics: ['AML.TA0004'] },
  { id: 'AML.T0010.000', name: 'Hardware', subtechniqueOf: 'AML.T0010' },
  { id: 'AML.T0010.001', name: 'AI Software', subtechniqueOf: 'AML.T0010' },
  { id: 'AML.T0010.002', name: 'Data', subtechniqueOf: 'AML.T0010' },
  { id: 'AML.T0010.003', name: 'Model', subtechniqueOf: 'AML.T0010' },
  { id: 'AML.T0010.004', name: 'Container Registry', subtechniqueOf: 'AML.T0010' },
  { id: 'AML.T0010.005', name: 'AI Agent Tool', subtechniqueOf: 'AML.T0010' },
  { id: 'AML.T0012', name: 'Valid Accounts', tactics: ['AML.TA0004', 'AML.TA0012'] },
  { id: 'AML.T0018', name: 'Manipulate AI Model', tactics: ['AML.TA0006', 'AML.TA0001'] },
  { id: 'AML.T0018.000', name: 'Poison AI Model', subtechniqueOf: 'AML.T0018' },
  { id: 'AML.T0018.001', name: 'Modify AI Model Architecture', subtechniqueOf: 'AML.T0018' },
  { id: 'AML.T0018.002', name: 'Embed Malware', subtechniqueOf: 'AML.T0018' },
  { id: 'AML.T0019', name: 'Publish Poisoned Datasets', tactics: ['AML.TA0003'] },
  { id: 'AML.T0020', name: 'Poison Training Data', tactics: ['AML.TA0003', 'AML.TA0006'] },
  { id: 'AML.T0024', name: 'Exfiltration via AI Inference API', tactics: ['AML.TA0010'] },
  { id: 'AML.T0024.000', name: 'Infer Training Data Membership', subtechniqueOf: 'AML.T0024' },
  { id: 'AML.T0024.001', name: 'Invert AI Model', subtechniqueOf: 'AML.T0024' },
  { id: 'AML.T0024.002', name: 'Extract AI Model', subtechniqueOf: 'AML.T0024' },
  { id: 'AML.T0029', name: 'Denial of AI Service', tactics: ['AML.TA0011'] },
  { id: 'AML.T0031', name: 'Erode AI Model Integrity', tactics: ['AML.TA0011'] },
  { id: 'AML.T0034', name: 'Cost Harvesting', tactics: ['AML.TA0011'] },
  { id: 'AML.T0034.000', name: 'Excessive Queries', subtechniqueOf: 'AML.T0034' },
  { id: 'AML.T0034.001', name: 'Resource-Intensive Queries', subtechniqueOf: 'AML.T0034' },
  { id: 'AML.T0034.002', name: 'Agentic Resource Consumption', subtechniqueOf: 'AML.T0034' },
  { id: 'AML.T0040', name: 'AI Model Inference API Access', tactics: ['AML.TA0000'] },
  { id: 'AML.T0048', name: 'External Harms', tactics: ['AML.TA0011'] },
  { id: 'AML.T0048.000', name: 'Financial Harm', subtechniqueOf: 'AML.T0048' },
  { id: 'AML.T0048.001', name: 'Reputational Harm', subtechniqueOf: 'AML.T0048' },
  { id: 'AML.T0048.002', name: 'Societal Harm', subtechniqueOf: 'AML.T0048' },
  { id: 'AML.T0048.003', name: 'User Harm', subtechniqueOf: 'AML.T0048' },
  { id: 'AML.T0048.004', name: 'AI Intellectual Property Theft', subtechniqueOf: 'AML.T0048' },
  { id: 'AML.T0051', name: 'LLM Prompt Injection', tactics: ['AML.TA0005'] },
  { id: 'AML.T0051.000', name: 'Direct', subtechniqueOf: 'AML.T0051' },
  { id: 'AML.T0051.001', name: 'Indirect', subtechniqueOf: 'AML.T0051' },
  { id: 'AML.T0051.002', name: 'Triggered', subtechniqueOf: 'AML.T0051' },
  { id: 'AML.T0053', name: 'AI Agent Tool Invocation', tactics: ['AML.TA0005', 'AML.TA0012'] },
  { id: 'AML.T0054', name: 'LLM Jailbreak', tactics: ['AML.TA0012', 'AML.TA0007'] },
  { id: 'AML.T0055', name: 'Unsecured Credentials', tactics: ['AML.TA0013'] },
  { id: 'AML.T0056', name: 'Extract LLM System Prompt', tactics: ['AML.TA0010'] },
  { id: 'AML.T0057', name: 'LLM Data Leakage', tactics: ['AML.TA0010'] },
  { id: 'AML.T0059', name: 'Erode Dataset Integrity', tactics: ['AML.TA0011'] },
  { id: 'AML.T0070', name: 'RAG Poisoning', tactics: ['AML.TA0006'] },
  { id: 'AML.T0076', name: 'Corrupt AI Model', tactics: ['AML.TA0007'] },
  { id: 'AML.T0080', name: 'AI Agent Context Poisoning', tactics: ['AML.TA0006'] },
  { id: 'AML.T0080.000', name: 'Memory', subtechniqueOf: 'AML.T0080' },
  { id: 'AML.T0080.001', name: 'Thread', subtechniqueOf: 'AML.T0080' },
  {
    id: 'AML.T0083',
    name: 'Credentials from AI Agent Configuration',
    tactics: ['AML.TA0013'],
  },
  {
    id: 'AML.T0086',
    name: 'Exfiltration via AI Agent Tool Invocation',
    tactics: ['AML.TA0010'],
  },
  { id: 'AML.T0110', name: 'AI Agent Tool Poisoning', tactics: ['AML.TA0006'] },
];

function tacticOf(id: TacticId): AtlasTactic {
  return { id, name: TACTICS[id] };
}

function buildShippedTable(): ReadonlyMap<string, AtlasTechnique> {
  const entries = new Map(SHIPPED.map((entry) => [entry.id, entry]));
  const table = new Map<string, AtlasTechnique>();
  for (const entry of SHIPPED) {
    if ('tactics' in entry) {
      table.set(entry.id, {
        id: entry.id,
        name: entry.name,
        title: entry.name,
        tactics: entry.tactics.map(tacticOf),
      });
      continue;
    }
    const parent = entries.get(entry.subtechniqueOf);
    // The table is written by hand; a sub-technique without its parent is a bug caught at load.
    if (!parent || !('tactics' in parent)) {
      throw new Error(`atlas table: ${entry.id} needs its parent ${entry.subtechniqueOf}`);
    }
    table.set(entry.id, {
      id: entry.id,
      name: entry.name,
      title: `${parent.name}: ${entry.name}`,
      subtechniqueOf: parent.id,
      tactics: parent.tactics.map(tacticOf),
    });
  }
  // Lookups hand out the table's own objects, so nothing downstream may change them.
  for (const technique of table.values()) {
    for (const tactic of technique.tactics) Object.freeze(tactic);
    Object.freeze(technique.tactics);
    Object.freeze(technique);
  }
  return table;
}

const SHIPPED_TABLE = buildShippedTable();

/** The technique from Warden's shipped table; undefined for an id it does not map to. */
export function atlasTechnique(id: string): AtlasTechnique | undefined {
  return SHIPPED_TABLE.get(id);
}

/** Every technique of the shipped table, in id order. */
export function shippedAtlasTechniques(): AtlasTechnique[] {
  return [...SHIPPED_TABLE.values()];
}

/** Every ATLAS tactic the shipped table knows, in matrix order. */
export function atlasTactics(): AtlasTactic[] {
  return (Object.keys(TACTICS) as TacticId[]).map(tacticOf);
}

/**
 * The technique from an imported data set, with tactic names and the
 * sub-technique's title resolved from the same data set.
 */
export function atlasTechniqueIn(dataSet: AtlasDataSet, id: string): AtlasTechnique | undefined {
  const entry = dataSet.techniques[id];
  if (!entry) return undefined;
  const parentName =
    entry.subtechniqueOf === undefined ? undefined : dataSet.techniques[entry.subtechniqueOf]?.name;
  return {
    id,
    name: entry.name,
    title: parentName === undefined ? entry.name : `${parentName}: ${entry.name}`,
    ...(entry.subtechniqueOf === undefined ? {} : { subtechniqueOf: entry.subtechniqueOf }),
    tactics: entry.tactics.map((tacticId) => ({
      id: tacticId,
      name: dataSet.tactics[tacticId]?.name ?? tacticId,
    })),
    description: entry.description,
  };
}
