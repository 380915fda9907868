import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { WardenError } from '../../core/errors.js';

/** Checkpoints live in `DATA/checkpoints/<source name>.json`. */
export const CHECKPOINT_DIR = 'checkpoints';

/**
 * Where each pull source got to, one JSON file per source. A source writes
 * its checkpoint only after Warden committed the alerts it covers, so a crash
 * in between re-reads that batch (dedup folds it): at least once, never lost.
 */
export class CheckpointStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, CHECKPOINT_DIR);
  }

  pathOf(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  /** The saved checkpoint; undefined when the source never saved one. */
  read(name: string): unknown {
    const path = this.pathOf(name);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new WardenError(
        'internal',
        `cannot read checkpoint ${path}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      // Starting over silently could re-ingest alerts older than the dedup window.
      throw new WardenError(
        'internal',
        `checkpoint ${path} is not valid JSON; delete it to read the source from the start`,
        { cause: error },
      );
    }
  }

  /** Written to a temporary file, flushed, then renamed over the old one: never half-written. */
  write(name: string, value: unknown): void {
    mkdirSync(this.dir, { recursive: true });
    const path = this.pathOf(name);
    const temporary = `${path}.${process.pid}.tmp`;
    const fd = openSync(temporary, 'w');
    try {
      writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  }
}
