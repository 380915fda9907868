import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IngestObserver } from '../pipeline/ingest-queue.js';
import type { Store } from '../store/store.js';

/** Prometheus metrics on a registry of our own (no global state). */
export class WardenMetrics implements IngestObserver {
  readonly registry = new Registry();
  readonly alertsIngested = new Counter({
    name: 'warden_alerts_ingested_total',
    help: 'Alerts received, by outcome (new, duplicate, rejected, ignored)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly casesOpened = new Counter({
    name: 'warden_cases_opened_total',
    help: 'Cases opened by correlation',
    registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: 'warden_ingest_commit_seconds',
    help: 'Time to process and durably commit one group of alerts',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'warden_ingest_commit_alerts',
    help: 'Alerts per group commit',
    buckets: [1, 5, 10, 50, 100, 500, 1000, 2000],
    registers: [this.registry],
  });

  constructor(store: Store) {
    collectDefaultMetrics({ register: this.registry, prefix: 'warden_' });
    // Collected on scrape; the registry holds the gauges.
    new Gauge({
      name: 'warden_store_records',
      help: 'Records in the store, by kind',
      labelNames: ['kind'] as const,
      registers: [this.registry],
      async collect() {
        const c = await store.counts();
        this.set({ kind: 'alerts' }, c.alerts);
        this.set({ kind: 'events' }, c.events);
        this.set({ kind: 'cases' }, c.cases);
        this.set({ kind: 'open_cases' }, c.openCases);
      },
    });
    new Gauge({
      name: 'warden_alert_case_compression_ratio',
      help: 'Stored alerts per case (higher = more noise folded into fewer cases)',
      registers: [this.registry],
      async collect() {
        const c = await store.counts();
        this.set(c.cases === 0 ? 0 : c.alerts / c.cases);
      },
    });
  }

  batchCommitted(info: {
    alerts: number;
    duplicates: number;
    casesOpened: number;
    ms: number;
  }): void {
    this.alertsIngested.inc({ outcome: 'new' }, info.alerts - info.duplicates);
    if (info.duplicates > 0) this.alertsIngested.inc({ outcome: 'duplicate' }, info.duplicates);
    if (info.casesOpened > 0) this.casesOpened.inc(info.casesOpened);
    this.batchSeconds.observe(info.ms / 1000);
    this.batchSize.observe(info.alerts);
  }
}
