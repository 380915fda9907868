import { loadSourcesConfig } from '../../config/sources-config.js';
import type { SecretSource } from '../../connectors/secrets.js';
import { CheckpointStore } from './checkpoint-store.js';
import { DirectoryWatcher } from './directory-watcher.js';
import { HttpPoller } from './http-poller.js';
import type { IngestPulled, PullLog, PullObserver, Scheduler } from './pull-source.js';

export interface PullSourcesOptions {
  configDir: string;
  dataDir: string;
  ingest: IngestPulled;
  log: PullLog;
  /** Told of every poll and scan (the server's metrics). */
  observer?: PullObserver;
  /** Resolves `${secret:NAME}` in poller headers. */
  secrets: SecretSource;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  scheduler?: Scheduler;
}

export interface PullSources {
  /** The pollers' and watchers' names, empty without `sources.yaml`. */
  readonly names: readonly string[];
  /** Stops every source; resolves once batches in progress are committed and checkpointed. */
  stop(): Promise<void>;
}

/**
 * Starts the pollers and watchers of `sources.yaml`; nothing when the file
 * does not exist. A mistake in the file throws `invalid_config` before any
 * source starts.
 */
export function startPullSources(options: PullSourcesOptions): PullSources {
  const config = loadSourcesConfig(options.configDir, options.secrets);
  if (!config) return { names: [], stop: () => Promise.resolve() };
  const checkpoints = new CheckpointStore(options.dataDir);
  const shared = {
    ingest: options.ingest,
    checkpoints,
    log: options.log,
    ...(options.observer ? { observer: options.observer } : {}),
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
  };
  const sources = [
    ...config.pollers.map(
      (poller) =>
        new HttpPoller({
          ...shared,
          config: poller,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        }),
    ),
    ...config.watchers.map((watcher) => new DirectoryWatcher({ ...shared, config: watcher })),
  ];
  for (const source of sources) source.start();
  return {
    names: sources.map((source) => source.name),
    async stop() {
      await Promise.all(sources.map((source) => source.stop()));
    },
  };
}
