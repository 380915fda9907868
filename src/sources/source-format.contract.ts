import { describe, expect, it } from 'vitest';
import { isAlertType, isSeverityId } from '../core/alert.js';
import { isAtlasTechniqueId } from '../core/atlas.js';
import { WardenError } from '../core/errors.js';
import type { SourceFormat } from './source-format.js';
import { SOURCE_FORMATS, detectSourceFormat, findSourceFormat } from './source-registry.js';

/**
 * The suite every source format passes. Each format's test calls it with
 * payloads of its own; "not claimed by another format" is checked from this
 * side (every other format's detect() is false on these samples), so once all
 * formats run it, every pair of formats has been checked both ways.
 */
export interface SourceFormatSamples {
  /** Payloads of one alert or, for a format with `expand`, of several: each part is checked. */
  valid: unknown[];
  invalid: unknown[];
  /** For a format with `expand`: payloads it claims that carry no finding (expand to none). */
  empty?: unknown[];
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Values no format may claim, and on which detect() must not throw. */
const NOT_ALERTS: unknown[] = [undefined, null, 0, 'alert', true, [], [{}], {}, { type: 42 }];

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectIsoTime(value: string): void {
  expect(value).toMatch(ISO_UTC);
  expect(new Date(value).toISOString()).toBe(value);
}

function expectWellFormed(format: SourceFormat, sample: unknown): void {
  const before = JSON.stringify(sample);
  const draft = format.normalize(sample);

  expect(draft.source.format).toBe(format.name);
  expect(draft.source.product.length).toBeGreaterThan(0);
  expect(draft.source.vendor.length).toBeGreaterThan(0);
  expect(isAlertType(draft.type)).toBe(true);
  expect(draft.title.trim().length).toBeGreaterThan(0);
  expect(isSeverityId(draft.severityId)).toBe(true);
  expectIsoTime(draft.firstSeen);
  expectIsoTime(draft.lastSeen);
  expect(draft.firstSeen <= draft.lastSeen).toBe(true);
  expect(Number.isSafeInteger(draft.count) && draft.count >= 1).toBe(true);
  if (draft.confidence !== undefined) {
    expect(draft.confidence).toBeGreaterThanOrEqual(0);
    expect(draft.confidence).toBeLessThanOrEqual(100);
  }
  for (const id of draft.atlasTechniques) expect(isAtlasTechniqueId(id), id).toBe(true);
  for (const list of [
    draft.observables.ips,
    draft.observables.cidrs,
    draft.observables.users,
    draft.observables.apiKeyIds,
    draft.observables.sessionIds,
    draft.observables.urls,
    draft.observables.toolCalls,
  ]) {
    expect(Array.isArray(list)).toBe(true);
  }
  // Raw is the payload (or part) as received, and normalising did not mutate it.
  expect(draft.raw).toEqual(sample);
  expect(JSON.stringify(draft.raw)).toBe(before);
  expect(JSON.stringify(sample)).toBe(before);
}

export function describeSourceFormatContract(
  format: SourceFormat,
  samples: SourceFormatSamples,
): void {
  const others = SOURCE_FORMATS.filter((other) => other !== format);

  describe(`source format contract: ${format.name}`, () => {
    it('has samples to check and is registered under its name', () => {
      expect(samples.valid.length).toBeGreaterThan(0);
      expect(samples.invalid.length).toBeGreaterThan(0);
      expect(findSourceFormat(format.name)).toBe(format);
      expect(format.description.length).toBeGreaterThan(0);
    });

    it('never claims a value that is not an alert, and never throws detecting one', () => {
      for (const value of NOT_ALERTS) expect(format.detect(value)).toBe(false);
    });

    samples.valid.forEach((sample, index) => {
      it(`detects valid sample #${index}, and no other format claims it`, () => {
        expect(format.detect(sample)).toBe(true);
        for (const other of others) expect(other.detect(sample), other.name).toBe(false);
        expect(detectSourceFormat(sample)).toBe(format);
      });

      it(`normalises valid sample #${index} to well-formed drafts`, () => {
        const before = JSON.stringify(sample);
        const parts = format.expand ? format.expand(sample) : [sample];
        expect(parts.length).toBeGreaterThan(0);
        for (const part of parts) {
          // A part is itself a payload of the format, so a dead letter of it replays alone.
          if (part !== sample) expect(format.detect(part)).toBe(true);
          expectWellFormed(format, part);
        }
        expect(JSON.stringify(sample)).toBe(before);
      });
    });

    (samples.empty ?? []).forEach((sample, index) => {
      it(`claims empty sample #${index} and expands it into no alert`, () => {
        expect(typeof format.expand).toBe('function');
        expect(format.detect(sample)).toBe(true);
        for (const other of others) expect(other.detect(sample), other.name).toBe(false);
        expect(format.expand?.(sample)).toEqual([]);
      });
    });

    samples.invalid.forEach((sample, index) => {
      it(`rejects invalid sample #${index} with a WardenError naming the field`, () => {
        const error = thrownBy(() => format.normalize(sample));
        expect(error).toBeInstanceOf(WardenError);
        if (!(error instanceof WardenError)) return;
        expect(['missing_field', 'invalid_field']).toContain(error.code);
        expect(error.field).toEqual(expect.any(String));
        expect(error.field?.length).toBeGreaterThan(0);
        expect(error.status).toBe(422);
      });
    });
  });
}
