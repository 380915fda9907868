import { inScope, type Principal } from '../core/access.js';
import type { Case } from '../core/case.js';
import { WardenError } from '../core/errors.js';
import {
  checkEvidence,
  evidenceSummary,
  sealEvidence,
  type CustodyEvent,
  type EvidenceCheck,
  type EvidenceItem,
  type EvidenceKind,
  type StoredEvidence,
} from '../core/evidence.js';
import { uuidv7 } from '../core/ids.js';
import type { Store, StoreTransaction } from '../store/store.js';

/**
 * Evidence on a case, as analysts and playbooks handle it. Every item is
 * written with a `collected` custody event and an `evidence.collected`
 * audit entry carrying its SHA-256 in the same transaction, so the audit
 * chain vouches for the hash; every read of the bytes adds a `read` event.
 */

export interface EvidenceWithCustody extends EvidenceItem {
  readonly custody: readonly CustodyEvent[];
}

export interface NewEvidence {
  readonly name: string;
  readonly kind: EvidenceKind;
  readonly content: unknown;
  readonly mediaType?: string;
  readonly note?: string;
}

/**
 * Stores an item inside the caller's transaction with its custody event and
 * audit entry. Used by the workflow below and by the playbook executor.
 */
export async function collectEvidence(
  tx: StoreTransaction,
  item: StoredEvidence,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await tx.insertEvidence(item);
  await tx.appendCustody({
    evidenceId: item.id,
    at: item.collectedAt,
    actor: item.source.actor,
    action: 'collected',
    detail,
  });
  await tx.appendAudit({
    at: item.collectedAt,
    actor: item.source.actor,
    action: 'evidence.collected',
    subject: item.caseId,
    data: {
      evidenceId: item.id,
      name: item.name,
      kind: item.kind,
      sha256: item.sha256,
      sizeBytes: item.sizeBytes,
      ...detail,
    },
  });
}

export interface EvidenceVerification {
  readonly ok: boolean;
  readonly checked: number;
  readonly problems: readonly Extract<EvidenceCheck, { ok: false }>[];
}

export class EvidenceWorkflow {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async list(principal: Principal, caseIdOrNumber: string): Promise<EvidenceWithCustody[]> {
    const c = await this.visibleCase(principal, caseIdOrNumber);
    const [items, custody] = await Promise.all([
      this.store.listEvidence(c.id),
      this.store.listCustody({ caseId: c.id }),
    ]);
    return items.map((item) => ({
      ...item,
      custody: custody.filter((event) => event.evidenceId === item.id),
    }));
  }

  async describe(principal: Principal, evidenceId: string): Promise<EvidenceWithCustody> {
    const item = await this.visibleItem(principal, evidenceId);
    return {
      ...evidenceSummary(item),
      custody: await this.store.listCustody({ evidenceId }),
    };
  }

  /** The bytes, after recording who read them. */
  async read(principal: Principal, evidenceId: string): Promise<StoredEvidence> {
    const item = await this.visibleItem(principal, evidenceId);
    const at = this.clock().toISOString();
    await this.store.transaction(async (tx) => {
      await tx.appendCustody({
        evidenceId,
        at,
        actor: principal.name,
        action: 'read',
        detail: { tokenId: principal.tokenId },
      });
      await tx.appendAudit({
        at,
        actor: principal.name,
        action: 'evidence.read',
        subject: item.caseId,
        data: { evidenceId, sha256: item.sha256, tokenId: principal.tokenId },
      });
    });
    return item;
  }

  async add(
    principal: Principal,
    caseIdOrNumber: string,
    evidence: NewEvidence,
  ): Promise<EvidenceWithCustody> {
    const c = await this.visibleCase(principal, caseIdOrNumber);
    const item = sealEvidence({
      id: uuidv7(),
      caseId: c.id,
      name: evidence.name,
      kind: evidence.kind,
      source: {
        actor: principal.name,
        ...(evidence.note === undefined ? {} : { note: evidence.note }),
      },
      collectedAt: this.clock().toISOString(),
      content: evidence.content,
      ...(evidence.mediaType === undefined ? {} : { mediaType: evidence.mediaType }),
    });
    await this.store.transaction(async (tx) => {
      if (!(await tx.getCase(c.id))) throw new WardenError('not_found', `case ${c.id} not found`);
      await collectEvidence(tx, item, { tokenId: principal.tokenId });
      await tx.appendTimeline({
        id: uuidv7(),
        caseId: c.id,
        at: item.collectedAt,
        actor: principal.name,
        kind: 'evidence_added',
        message: `evidence "${item.name}" added (${item.kind}, ${item.sizeBytes} bytes, sha256 ${item.sha256.slice(0, 12)}…)`,
        data: { evidenceId: item.id, sha256: item.sha256 },
      });
    });
    return {
      ...evidenceSummary(item),
      custody: await this.store.listCustody({ evidenceId: item.id }),
    };
  }

  /**
   * Re-hashes every stored item and compares it with its stored hash and the
   * hash the audit log recorded at collection. Pair it with `audit verify`,
   * which shows the audit log itself is intact.
   */
  async verifyAll(pageSize = 500): Promise<EvidenceVerification> {
    const audited = await this.auditedHashes();
    const problems: Extract<EvidenceCheck, { ok: false }>[] = [];
    let checked = 0;
    let after: string | null = null;
    for (;;) {
      const page = await this.store.scanEvidence(after, pageSize);
      for (const item of page) {
        checked += 1;
        const check = checkEvidence(item, audited.get(item.id));
        if (!check.ok) problems.push(check);
      }
      if (page.length < pageSize) break;
      after = page[page.length - 1]?.id ?? null;
    }
    return { ok: problems.length === 0, checked, problems };
  }

  private async auditedHashes(): Promise<Map<string, string>> {
    const hashes = new Map<string, string>();
    let afterSeq = 0;
    for (;;) {
      const page = await this.store.readAudit(afterSeq, 5000);
      for (const entry of page) {
        if (entry.action !== 'evidence.collected') continue;
        const { evidenceId, sha256 } = entry.data as { evidenceId?: unknown; sha256?: unknown };
        if (typeof evidenceId === 'string' && typeof sha256 === 'string') {
          hashes.set(evidenceId, sha256);
        }
      }
      const last = page[page.length - 1];
      if (!last || page.length < 5000) break;
      afterSeq = last.seq;
    }
    return hashes;
  }

  private async visibleCase(principal: Principal, idOrNumber: string): Promise<Case> {
    const c = await this.store.getCase(idOrNumber);
    if (!c || !inScope(principal, c.businessUnit)) {
      throw new WardenError('not_found', `case ${idOrNumber} not found`);
    }
    return c;
  }

  private async visibleItem(principal: Principal, evidenceId: string): Promise<StoredEvidence> {
    const item = await this.store.getEvidence(evidenceId);
    const c = item ? await this.store.getCase(item.caseId) : undefined;
    if (!item || !c || !inScope(principal, c.businessUnit)) {
      throw new WardenError('not_found', `evidence ${evidenceId} not found`);
    }
    return item;
  }
}
