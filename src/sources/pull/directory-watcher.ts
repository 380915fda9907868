import { closeSync, openSync, readSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { WatcherConfig } from '../../config/sources-config.js';
import { normalizePayload } from '../source-registry.js';
import type { CheckpointStore } from './checkpoint-store.js';
import {
  PULL_CHUNK,
  TickLoop,
  errorMessage,
  realScheduler,
  type IngestPulled,
  type PullLog,
  type PullObserver,
  type PulledAlert,
  type Scheduler,
} from './pull-source.js';

/** Bytes read from one file per scan; the rest waits for the next scan. */
export const MAX_READ_PER_SCAN = 16 * 1024 * 1024;

export interface DirectoryWatcherOptions {
  config: WatcherConfig;
  ingest: IngestPulled;
  checkpoints: CheckpointStore;
  log: PullLog;
  observer?: PullObserver;
  scheduler?: Scheduler;
}

/** How far one file has been read. */
export interface FilePosition {
  /** Bytes read and committed: always just after a newline. */
  offset: number;
  /** Lines read, so a bad line is reported as `file:line`. */
  line: number;
  size: number;
  ino: number;
  mtimeMs: number;
}

/** What `DATA/checkpoints/<name>.json` holds for a watcher: positions by file name. */
export interface WatcherCheckpoint {
  files: Record<string, FilePosition>;
}

export interface ScanResult {
  /** Alerts submitted (new or duplicate). */
  alerts: number;
  /** Lines that are not JSON or that no format reads; reported and skipped. */
  rejected: number;
}

/**
 * Tails the NDJSON files of a directory (one alert per line, e.g. garak's
 * JSONL reports). It scans on an interval rather than trusting fs.watch,
 * which misses events on network and container file systems. Each file is
 * read from its checkpointed offset; only complete lines are read, so a
 * line still being written waits for its newline. A file that shrank below
 * its offset (truncated) or is a new file under the old name (rotated) is
 * read from the start; a rotated file renamed to a name that still matches
 * keeps its offset, found by inode.
 */
export class DirectoryWatcher {
  private readonly loop: TickLoop;
  private readonly files: Map<string, FilePosition>;
  private readonly patterns: RegExp[];
  private missingReported = false;
  /** Alerts committed and lines rejected in the scan under way (a failed scan's counts too). */
  private scanned: ScanResult = { alerts: 0, rejected: 0 };

  constructor(private readonly options: DirectoryWatcherOptions) {
    this.loop = new TickLoop(async () => {
      await this.scanOnce().catch((error: unknown) => {
        options.log.warn(`watcher ${options.config.name}: ${errorMessage(error)}`);
      });
      return options.config.intervalMs;
    }, options.scheduler ?? realScheduler);
    const saved = options.checkpoints.read(options.config.name) as WatcherCheckpoint | undefined;
    this.files = new Map(Object.entries(saved?.files ?? {}));
    this.patterns = options.config.patterns.map(globToRegExp);
  }

  get name(): string {
    return this.options.config.name;
  }

  /** Scans now, then every interval. */
  start(): void {
    this.loop.start();
  }

  /** Stops scanning; resolves once a scan in progress has committed. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * Reads what was appended to every matching file since the checkpoint.
   * Throws when a commit fails: the checkpoint then still points before the
   * lines that were not committed, and the next scan reads them again.
   */
  async scanOnce(): Promise<ScanResult> {
    const { observer, config } = this.options;
    this.scanned = { alerts: 0, rejected: 0 };
    let finished = false;
    try {
      const result = await this.scan();
      finished = true;
      return result;
    } finally {
      // A directory that cannot be listed is a failure too, though the scan goes on.
      const ok = finished && !this.missingReported;
      observer?.pulled(config.name, { ok, ...this.scanned });
    }
  }

  private async scan(): Promise<ScanResult> {
    const { directory, name } = this.options.config;
    let entries: string[];
    try {
      entries = readdirSync(directory);
    } catch (error) {
      if (!this.missingReported) {
        this.options.log.warn(`watcher ${name}: cannot list ${directory}: ${errorMessage(error)}`);
        this.missingReported = true;
      }
      return { alerts: 0, rejected: 0 };
    }
    this.missingReported = false;
    const present = new Map<string, Stats>();
    for (const entry of entries.sort()) {
      if (!this.patterns.some((pattern) => pattern.test(entry))) continue;
      const stats = statSync(join(directory, entry), { throwIfNoEntry: false });
      if (stats?.isFile()) present.set(entry, stats);
    }
    this.adoptRenamedFiles(present);
    for (const file of [...this.files.keys()]) if (!present.has(file)) this.files.delete(file);

    const total: ScanResult = { alerts: 0, rejected: 0 };
    for (const [file, stats] of present) {
      const result = await this.readFile(file, stats);
      total.alerts += result.alerts;
      total.rejected += result.rejected;
    }
    this.save();
    return total;
  }

  /** `report.jsonl` rotated to `report.1.jsonl`: the new name continues where the old one was. */
  private adoptRenamedFiles(present: ReadonlyMap<string, Stats>): void {
    for (const [file, stats] of present) {
      if (this.files.has(file)) continue;
      for (const [oldName, position] of this.files) {
        const oldStats = present.get(oldName);
        const moved = oldStats === undefined || oldStats.ino !== position.ino;
        if (moved && position.ino === stats.ino && position.offset <= stats.size) {
          this.files.set(file, position);
          if (oldStats === undefined) this.files.delete(oldName);
          break;
        }
      }
    }
  }

  private async readFile(file: string, stats: Stats): Promise<ScanResult> {
    const { config, log } = this.options;
    let position = this.files.get(file);
    if (position && (position.ino !== stats.ino || position.offset > stats.size)) {
      log.info(
        `watcher ${config.name}: ${file} was truncated or replaced; reading it from the start`,
      );
      position = undefined;
    }
    const current: FilePosition = {
      offset: position?.offset ?? 0,
      line: position?.line ?? 0,
      size: stats.size,
      ino: stats.ino,
      mtimeMs: stats.mtimeMs,
    };
    this.files.set(file, current);
    const result: ScanResult = { alerts: 0, rejected: 0 };
    if (current.offset >= stats.size) return result;

    const buffer = readRange(join(config.directory, file), current.offset, stats.size);
    const end = buffer.lastIndexOf(0x0a) + 1;
    // No newline yet: the last line is still being written.
    if (end === 0) return result;

    let batch: PulledAlert[] = [];
    let start = 0;
    let line = current.line;
    const commit = async (upTo: number): Promise<void> => {
      if (batch.length > 0) await this.options.ingest(batch);
      result.alerts += batch.length;
      this.scanned.alerts += batch.length;
      batch = [];
      current.offset += upTo - committedTo;
      current.line = line;
      committedTo = upTo;
      this.save();
    };
    let committedTo = 0;
    while (start < end) {
      const newline = buffer.indexOf(0x0a, start);
      const text = buffer.toString('utf8', start, newline).trim();
      start = newline + 1;
      line += 1;
      if (text === '') continue;
      try {
        batch.push({
          draft: normalizePayload(JSON.parse(text) as unknown, config.source, config.context),
          rawText: text,
        });
      } catch (error) {
        result.rejected += 1;
        this.scanned.rejected += 1;
        const reason =
          error instanceof SyntaxError ? `not valid JSON: ${error.message}` : errorMessage(error);
        log.warn(`watcher ${config.name}: ${file}:${line} skipped: ${reason}`);
      }
      if (batch.length >= PULL_CHUNK) await commit(start);
    }
    await commit(end);
    return result;
  }

  private save(): void {
    const checkpoint: WatcherCheckpoint = { files: Object.fromEntries(this.files) };
    this.options.checkpoints.write(this.options.config.name, checkpoint);
  }
}

function readRange(path: string, from: number, to: number): Buffer {
  const length = Math.min(to - from, MAX_READ_PER_SCAN);
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    let read = 0;
    while (read < length) {
      const n = readSync(fd, buffer, read, length - read, from + read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** `*` any run of characters, `?` one character; the rest literal. */
export function globToRegExp(glob: string): RegExp {
  const source = glob
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()[\]{}|]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}
