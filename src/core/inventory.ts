import { parseCidr, parseIp, rangeContains, type CidrRange } from './ip-range.js';
import type { AllowlistMatch } from './alert.js';

/** The AI estate as declared in the config directory's inventory YAML. */
export interface BusinessUnit {
  id: string;
  name: string;
  /** Who is paged for this unit's incidents. */
  onCall?: string;
}

export type ModelTier = 1 | 2 | 3;

export interface ModelRecord {
  id: string;
  name: string;
  owner: string;
  businessUnit: string;
  environment: string;
  /** 1 = business critical, 3 = experimental. */
  tier: ModelTier;
  endpoints: string[];
  registryName?: string;
  /** Dataset ids and feature store ids the model reads. */
  datasets: string[];
  featureStores: string[];
  description?: string;
}

export interface DatasetRecord {
  id: string;
  name: string;
  featureStore?: string;
  owner?: string;
  businessUnit?: string;
}

export interface Allowlist {
  name: string;
  reason?: string;
  cidrs: string[];
}

export interface Inventory {
  businessUnits: BusinessUnit[];
  models: ModelRecord[];
  datasets: DatasetRecord[];
  allowlists: Allowlist[];
}

export function emptyInventory(): Inventory {
  return { businessUnits: [], models: [], datasets: [], allowlists: [] };
}

/** The lower-cased path of an http(s) URL; undefined for anything else (e.g. "foo:bar" ids). */
function urlPath(text: string): string | undefined {
  if (!/^https?:\/\//i.test(text)) return undefined;
  try {
    return new URL(text).pathname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** Lookups over an inventory, built once per load. */
export class InventoryIndex {
  readonly inventory: Inventory;
  private readonly modelsByKey = new Map<string, ModelRecord>();
  private readonly readersBySource = new Map<string, ModelRecord[]>();
  private readonly datasetsById = new Map<string, DatasetRecord>();
  private readonly ranges: { list: Allowlist; range: CidrRange }[] = [];
  private readonly blastRadiusByModel = new Map<string, string[]>();

  constructor(inventory: Inventory) {
    this.inventory = inventory;
    for (const model of inventory.models) {
      for (const key of [model.id, model.registryName, ...model.endpoints]) {
        if (key) this.modelsByKey.set(key.toLowerCase(), model);
      }
      // An endpoint declared as a URL is also found by its path alone.
      for (const endpoint of model.endpoints) {
        const path = urlPath(endpoint);
        if (path && !this.modelsByKey.has(path)) this.modelsByKey.set(path, model);
      }
      for (const source of new Set([...model.datasets, ...model.featureStores])) {
        const readers = this.readersBySource.get(source) ?? [];
        readers.push(model);
        this.readersBySource.set(source, readers);
      }
    }
    for (const dataset of inventory.datasets) this.datasetsById.set(dataset.id, dataset);
    for (const list of inventory.allowlists) {
      for (const cidr of list.cidrs) {
        const range = parseCidr(cidr);
        if (range) this.ranges.push({ list, range });
      }
    }
  }

  businessUnit(id: string): BusinessUnit | undefined {
    return this.inventory.businessUnits.find((u) => u.id === id);
  }

  /** By model id, registry name or endpoint (URL or path), case-insensitive. */
  findModel(key: string | undefined): ModelRecord | undefined {
    if (!key) return undefined;
    const lower = key.toLowerCase();
    const direct = this.modelsByKey.get(lower);
    if (direct) return direct;
    // An endpoint given as a full URL matches a declared path.
    const path = urlPath(lower);
    return path ? this.modelsByKey.get(path) : undefined;
  }

  dataset(id: string): DatasetRecord | undefined {
    return this.datasetsById.get(id);
  }

  /** Models that read a dataset, or the feature store it lives in. */
  readersOf(datasetOrStore: string): ModelRecord[] {
    const direct = this.readersBySource.get(datasetOrStore) ?? [];
    const store = this.datasetsById.get(datasetOrStore)?.featureStore;
    const viaStore = store ? (this.readersBySource.get(store) ?? []) : [];
    return [...new Set([...direct, ...viaStore])];
  }

  /** Other models that share a dataset or feature store with this one. */
  blastRadius(model: ModelRecord): string[] {
    let cached = this.blastRadiusByModel.get(model.id);
    if (!cached) {
      cached = this.computeBlastRadius(model);
      this.blastRadiusByModel.set(model.id, cached);
    }
    return cached;
  }

  private computeBlastRadius(model: ModelRecord): string[] {
    const sources = [...model.datasets, ...model.featureStores];
    for (const id of model.datasets) {
      const store = this.datasetsById.get(id)?.featureStore;
      if (store) sources.push(store);
    }
    const others = new Set<string>();
    for (const source of sources) {
      for (const reader of this.readersOf(source))
        if (reader.id !== model.id) others.add(reader.id);
    }
    return [...others].sort();
  }

  allowlistMatches(ips: readonly string[]): AllowlistMatch[] {
    const matches: AllowlistMatch[] = [];
    if (this.ranges.length === 0) return matches;
    for (const ip of ips) {
      const parsed = parseIp(ip);
      if (!parsed) continue;
      for (const { list, range } of this.ranges) {
        if (rangeContains(range, parsed)) {
          matches.push({
            list: list.name,
            cidr: range.cidr,
            ip,
            ...(list.reason ? { reason: list.reason } : {}),
          });
          break;
        }
      }
    }
    return matches;
  }
}
