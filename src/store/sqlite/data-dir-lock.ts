import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WardenError } from '../../core/errors.js';

/** The lock's file, beside the store in the data directory. */
export const DATA_DIR_LOCK_FILE = 'warden.lock';

/**
 * Keeps a second ingesting process (`warden serve`, or `warden ingest`
 * without `--url`, or `warden deadletter replay`) off a data directory. Each such process holds busy cases
 * back in memory and queues playbook runs, so two of them would overwrite
 * each other's case rows and could start a run twice; SQLite's own locking
 * only keeps their transactions apart. Commands that read, or write in one
 * short transaction (`warden cases`, `warden token create`), do not take it.
 *
 * The lock is SQLite's: an exclusive lock on a small file, held for as long
 * as the process keeps it and dropped by the operating system if the process
 * dies, so a crash leaves no stale lock behind.
 */
export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  static acquire(dataDir: string): DataDirLock {
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(join(dataDir, DATA_DIR_LOCK_FILE), { timeout: 0 });
    try {
      // In exclusive locking mode a connection keeps the locks it takes until it closes.
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (error) {
      db.close();
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') {
        throw new WardenError(
          'conflict',
          `data directory ${dataDir} is in use by another Warden process (a warden serve, or ` +
            'a warden ingest or deadletter replay writing it directly): stop it first, or go ' +
            'through its API (warden ingest --url, POST /api/v1/deadletters/:id/replay)',
        );
      }
      throw error;
    }
    return new DataDirLock(db);
  }

  release(): void {
    if (this.db.open) this.db.close();
  }
}
