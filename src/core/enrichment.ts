import type { AlertDraft, AlertEnrichment } from './alert.js';
import type { InventoryIndex, ModelRecord } from './inventory.js';

function mostCritical(models: ModelRecord[]): ModelRecord | undefined {
  return [...models].sort((a, b) => a.tier - b.tier || a.id.localeCompare(b.id))[0];
}

/**
 * Who and what an alert is about, from the inventory: the model (by id,
 * registry name or endpoint), its unit, tier and owner, the blast radius, and
 * allow-listed source addresses. An alert about a dataset with no model is
 * attributed to the most critical model reading that dataset.
 */
export function enrichAlert(draft: AlertDraft, inventory: InventoryIndex): AlertEnrichment {
  const { observables } = draft;
  let model =
    inventory.findModel(observables.model?.id) ?? inventory.findModel(observables.model?.endpoint);
  const blastRadius = new Set<string>();
  const dataset = observables.dataset;
  if (dataset) {
    const readers = [
      ...inventory.readersOf(dataset.id),
      ...(dataset.featureStore ? inventory.readersOf(dataset.featureStore) : []),
    ];
    model ??= mostCritical(readers);
    for (const reader of readers) blastRadius.add(reader.id);
  }
  if (model) for (const id of inventory.blastRadius(model)) blastRadius.add(id);
  if (model) blastRadius.delete(model.id);

  const datasetUnit = dataset ? inventory.dataset(dataset.id)?.businessUnit : undefined;
  const enrichment: AlertEnrichment = {
    blastRadius: [...blastRadius].sort(),
    allowlisted: inventory.allowlistMatches([...observables.ips]),
  };
  if (model) {
    enrichment.modelId = model.id;
    enrichment.modelName = model.name;
    enrichment.businessUnit = model.businessUnit;
    enrichment.tier = model.tier;
    enrichment.owner = model.owner;
    enrichment.environment = model.environment;
  } else if (datasetUnit) {
    enrichment.businessUnit = datasetUnit;
  } else if (draft.businessUnit !== undefined && inventory.businessUnit(draft.businessUnit)) {
    enrichment.businessUnit = draft.businessUnit;
  }
  return enrichment;
}
