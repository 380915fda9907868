import { join } from 'node:path';
import type { Command } from 'commander';
import { isAtlasTechniqueId } from '../core/atlas.js';
import {
  SHIPPED_ATLAS_VERSION,
  atlasTechnique,
  atlasTechniqueIn,
  shippedAtlasTechniques,
  type AtlasTechnique,
} from '../core/atlas-techniques.js';
import { WardenError } from '../core/errors.js';
import { ATLAS_DATA_FILE, importAtlasFile, loadImportedAtlas } from '../config/atlas-data.js';
import { dataOption } from './common-options.js';

interface ShowOptions {
  data: string;
  json?: boolean;
}

/** `warden atlas import` and `warden atlas show`. */
export function registerAtlasCommand(program: Command): void {
  const atlas = program
    .command('atlas')
    .description('MITRE ATLAS techniques: the shipped table and the imported public data set');

  atlas
    .command('import')
    .description(
      `load the public ATLAS data set (dist/ATLAS.yaml of mitre-atlas/atlas-data) into DATA/${ATLAS_DATA_FILE}`,
    )
    .argument('<file>', 'ATLAS.yaml')
    .addOption(dataOption())
    .action((file: string, options: { data: string }) => {
      const { dataSet } = importAtlasFile(file, options.data);
      const techniques = Object.keys(dataSet.techniques).length;
      const tactics = Object.keys(dataSet.tactics).length;
      const lines = [
        `imported ATLAS v${dataSet.version}: ${techniques} techniques, ${tactics} tactics ` +
          `into ${join(options.data, ATLAS_DATA_FILE)}`,
      ];
      // An older data set may lack techniques Warden maps to; say so rather than fall back silently.
      const missing = shippedAtlasTechniques()
        .map((technique) => technique.id)
        .filter((id) => !(id in dataSet.techniques));
      if (missing.length > 0) {
        lines.push(
          `note: ${missing.length} of Warden's techniques are not in this data set ` +
            `(the shipped table names them): ${missing.join(', ')}`,
        );
      }
      write(lines.join('\n'));
    });

  atlas
    .command('show')
    .description(
      'one technique: name, tactics and description, from the imported data set when present, ' +
        "else Warden's shipped table",
    )
    .argument('<id>', 'technique id, e.g. AML.T0051.000')
    .addOption(dataOption())
    .option('--json', 'print JSON instead of text')
    .action((id: string, options: ShowOptions) => {
      if (!isAtlasTechniqueId(id)) {
        throw new WardenError(
          'invalid_field',
          `"${id}" is not an ATLAS technique id (AML.T0051 or AML.T0051.000)`,
          { field: 'ID' },
        );
      }
      const found = findTechnique(id, options.data);
      if (options.json) {
        write(JSON.stringify({ ...found.technique, from: found.from }, null, 2));
        return;
      }
      write(renderTechnique(found));
    });
}

interface FoundTechnique {
  technique: AtlasTechnique;
  /** Which table answered, in words. */
  from: string;
}

function findTechnique(id: string, dataDir: string): FoundTechnique {
  const imported = loadImportedAtlas(dataDir);
  const importedPath = join(dataDir, ATLAS_DATA_FILE);
  const fromImport = imported && atlasTechniqueIn(imported, id);
  if (fromImport) {
    return { technique: fromImport, from: `imported ATLAS v${imported.version} (${importedPath})` };
  }
  const shipped = atlasTechnique(id);
  const whyShipped = imported
    ? `not in the imported ATLAS v${imported.version} (${importedPath})`
    : `no imported data set in ${dataDir}; "warden atlas import ATLAS.yaml" adds descriptions`;
  if (shipped) {
    return {
      technique: shipped,
      from: `Warden's shipped table (ATLAS v${SHIPPED_ATLAS_VERSION}); ${whyShipped}`,
    };
  }
  throw new WardenError(
    'not_found',
    `ATLAS technique ${id} is unknown: not in Warden's shipped table, and ${whyShipped}`,
    { field: 'ID' },
  );
}

// Wide enough for a sub-technique id and a space.
const LABEL = 15;

function renderTechnique({ technique, from }: FoundTechnique): string {
  const indent = ' '.repeat(LABEL);
  const out = [
    `${technique.id.padEnd(LABEL)}${technique.title}`,
    `${'Tactics'.padEnd(LABEL)}${technique.tactics.map((t) => `${t.name} (${t.id})`).join(', ')}`,
  ];
  if (technique.subtechniqueOf !== undefined) {
    out.push(`${'Parent'.padEnd(LABEL)}${technique.subtechniqueOf}`);
  }
  out.push(`${'From'.padEnd(LABEL)}${from}`);
  if (technique.description !== undefined) {
    const lines = technique.description.split('\n');
    out.push(
      '',
      ...lines.map((line, index) => (index === 0 ? 'Description'.padEnd(LABEL) : indent) + line),
    );
  }
  return out.join('\n');
}

function write(text: string): void {
  const trimmed = text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
  process.stdout.write(trimmed.endsWith('\n') ? trimmed : `${trimmed}\n`);
}
