import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Case } from '../../core/case.js';

/**
 * A case's row as written, read through a connection of its own: a read
 * through the store brings a held-back case up to its alerts; this does not.
 * Without `caseId`, the first case by number.
 */
export function storedCaseRow(dataDir: string, caseId?: string): Case | undefined {
  const db = new Database(join(dataDir, 'warden.db'), { readonly: true });
  try {
    const doc = (
      caseId
        ? db.prepare('SELECT doc FROM cases WHERE id = ?').pluck().get(caseId)
        : db.prepare('SELECT doc FROM cases ORDER BY number LIMIT 1').pluck().get()
    ) as string | undefined;
    return doc === undefined ? undefined : (JSON.parse(doc) as Case);
  } finally {
    db.close();
  }
}
