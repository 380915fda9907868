/**
 * The `sources` part of `npm run bench`: how fast each alert source format
 * turns a payload into an alert draft, in this process on one thread. For
 * every format in the registry (so a format added later is measured without
 * editing this file) it times
 *   - `format.normalize(payload)` with the format already chosen (the step the
 *     "≥ 50,000 alerts/s per core" target is about), and
 *   - `normalizePayload(payload)`: detection over the registry, then the same.
 * Payloads are pre-parsed objects (JSON parsing is not part of the step), built
 * before timing from bench/source-samples.ts as a pool of distinct variants
 * that the loop cycles through, so consecutive alerts differ in an id, an
 * address or a score and building them costs nothing inside the timed loop.
 */
import { SOURCE_FORMATS, normalizePayload } from '../src/sources/source-registry.js';
import type { SourceFormat } from '../src/sources/source-format.js';
import { median } from './report.js';
import { SOURCE_SAMPLES } from './source-samples.js';

export const SOURCE_TARGET_PER_SECOND = 50_000;

export interface SourceBenchOptions {
  /** Measured repetitions per format and step; the median is reported. */
  runs: number;
  /** A repetition stops after this many alerts… */
  maxIterations: number;
  /** …or after this many seconds, whichever comes first. */
  maxSeconds: number;
  /** Distinct payload variants per format (a power of two). */
  variants: number;
}

export const DEFAULT_SOURCE_BENCH: SourceBenchOptions = {
  runs: 3,
  maxIterations: 200_000,
  maxSeconds: 2,
  variants: 16_384,
};

export interface StepResult {
  /** Alerts per second of each repetition. */
  runs: number[];
  alertsPerSecond: number;
  microsPerAlert: number;
  alertsPerRun: number[];
}

export type SourceResult =
  | { format: string; status: 'measured'; normalize: StepResult; detectNormalize: StepResult }
  /** A registered format with no entry in bench/source-samples.ts. */
  | { format: string; status: 'no sample' }
  /** The sample failed to normalise, or was detected as another format. */
  | { format: string; status: 'bad sample'; reason: string };

/** Keeps the optimiser from discarding the drafts. */
let sink = 0;

type Normalize = (payload: unknown) => { count: number; title: string };

/** Normalises the pool round-robin until `maxIterations` or `maxSeconds`; returns [alerts, seconds]. */
function timeLoop(
  payloads: readonly unknown[],
  normalize: Normalize,
  maxIterations: number,
  maxSeconds: number,
): [number, number] {
  const mask = payloads.length - 1;
  const deadline = maxSeconds * 1000;
  const start = performance.now();
  let done = 0;
  let elapsed = 0;
  let acc = 0;
  while (done < maxIterations) {
    const end = Math.min(done + 1000, maxIterations);
    for (; done < end; done += 1) {
      const draft = normalize(payloads[done & mask]);
      acc += draft.count + draft.title.length;
    }
    elapsed = performance.now() - start;
    if (elapsed >= deadline) break;
  }
  sink += acc;
  return [done, elapsed / 1000];
}

/**
 * Warms up both steps, then alternates their repetitions, so a change in the
 * machine's load during the measurement affects both alike.
 */
function measureBoth(
  payloads: readonly unknown[],
  steps: readonly [Normalize, Normalize],
  options: SourceBenchOptions,
): [StepResult, StepResult] {
  // Warm-up: enough calls for the JIT to optimise the adapter and the detectors.
  for (const normalize of steps) {
    timeLoop(payloads, normalize, Math.min(100_000, options.maxIterations), 1);
  }
  const runs: [number[], number[]] = [[], []];
  const alertsPerRun: [number[], number[]] = [[], []];
  for (let run = 0; run < options.runs; run += 1) {
    for (const i of [0, 1] as const) {
      const [alerts, seconds] = timeLoop(
        payloads,
        steps[i],
        options.maxIterations,
        options.maxSeconds,
      );
      runs[i].push(alerts / seconds);
      alertsPerRun[i].push(alerts);
    }
  }
  const result = (i: 0 | 1): StepResult => {
    const alertsPerSecond = median(runs[i]);
    return {
      runs: runs[i],
      alertsPerSecond,
      microsPerAlert: 1e6 / alertsPerSecond,
      alertsPerRun: alertsPerRun[i],
    };
  };
  return [result(0), result(1)];
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Builds the pool and checks every variant normalises and is detected as `format`. */
function payloadsFor(
  format: SourceFormat,
  build: (i: number) => unknown,
  variants: number,
): unknown[] | string {
  const payloads = Array.from({ length: variants }, (_, i) => build(i));
  for (const [i, payload] of payloads.entries()) {
    try {
      format.normalize(payload);
    } catch (error) {
      return `variant ${i} does not normalise: ${message(error)}`;
    }
    const detected = SOURCE_FORMATS.find((f) => f.detect(payload));
    if (detected !== format) {
      return `variant ${i} is detected as ${detected?.name ?? 'no format'}`;
    }
  }
  return payloads;
}

/** Formats named in bench/source-samples.ts that the registry does not have. */
export function orphanSamples(): string[] {
  const names = new Set(SOURCE_FORMATS.map((f) => f.name));
  return Object.keys(SOURCE_SAMPLES).filter((name) => !names.has(name));
}

export function benchSources(
  options: SourceBenchOptions = DEFAULT_SOURCE_BENCH,
  onResult: (result: SourceResult) => void = () => undefined,
): SourceResult[] {
  if ((options.variants & (options.variants - 1)) !== 0) {
    throw new Error('variants must be a power of two');
  }
  const results: SourceResult[] = [];
  for (const format of SOURCE_FORMATS) {
    const build = Object.hasOwn(SOURCE_SAMPLES, format.name)
      ? SOURCE_SAMPLES[format.name]
      : undefined;
    let result: SourceResult;
    if (!build) {
      result = { format: format.name, status: 'no sample' };
    } else {
      const payloads = payloadsFor(format, build, options.variants);
      if (typeof payloads === 'string') {
        result = { format: format.name, status: 'bad sample', reason: payloads };
      } else {
        const [normalize, detectNormalize] = measureBoth(
          payloads,
          [(p) => format.normalize(p), (p) => normalizePayload(p)],
          options,
        );
        result = { format: format.name, status: 'measured', normalize, detectNormalize };
      }
    }
    results.push(result);
    onResult(result);
  }
  if (sink === 0) throw new Error('no draft was produced');
  return results;
}
