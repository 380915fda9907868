import { AuditChainVerifier, type AuditVerification } from '../core/audit-chain.js';
import type { Store } from '../store/store.js';

/** Walk the whole audit log in pages and check its hash chain. */
export async function verifyAuditLog(store: Store, pageSize = 5000): Promise<AuditVerification> {
  const verifier = new AuditChainVerifier();
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
