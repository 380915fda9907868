import {
  AuditChainVerifier,
  type AuditAnchor,
  type AuditEntry,
  type AuditVerification,
} from '../core/audit-chain.js';
import type { Store } from '../store/store.js';

/** The newest audit entry, or undefined for an empty log. */
export async function auditHead(store: Store): Promise<AuditEntry | undefined> {
  const count = await store.recordedAuditCount();
  if (count === 0) return undefined;
  const [head] = await store.readAudit(count - 1, 1);
  return head;
}

/**
 * Walk the whole audit log in pages and check its hash chain, and that the
 * entries `anchors` name (recorded outside Warden) still have their hashes.
 */
export async function verifyAuditLog(
  store: Store,
  pageSize = 5000,
  anchors: readonly AuditAnchor[] = [],
): Promise<AuditVerification> {
  const verifier = new AuditChainVerifier(anchors);
  let afterSeq = 0;
  for (;;) {
    const page = await store.readAudit(afterSeq, pageSize);
    for (const entry of page) verifier.push(entry);
    const last = page[page.length - 1];
    if (!last || page.length < pageSize) break;
    afterSeq = last.seq;
  }
  return verifier.finish(await store.recordedAuditCount());
}
