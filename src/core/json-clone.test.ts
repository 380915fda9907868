import { describe, expect, it } from 'vitest';
import { cloneJson } from './json-clone.js';

describe('cloneJson', () => {
  it('copies nested objects and arrays so that changing the copy leaves the original', () => {
    const original = { a: [1, { b: 'x' }], c: { d: null, e: true }, n: 0 };
    const copy = cloneJson(original);
    expect(copy).toEqual(original);
    (copy.a[1] as { b: string }).b = 'changed';
    copy.c.e = false;
    (copy.a as unknown[]).push(2);
    expect(original).toEqual({ a: [1, { b: 'x' }], c: { d: null, e: true }, n: 0 });
  });

  it('drops undefined fields, as the stored JSON would', () => {
    expect(cloneJson({ a: 1, b: undefined })).toEqual({ a: 1 });
    expect(Object.keys(cloneJson({ a: 1, b: undefined }))).toEqual(['a']);
  });

  it('returns scalars as they are', () => {
    expect(cloneJson('text')).toBe('text');
    expect(cloneJson(null)).toBeNull();
    expect(cloneJson(3)).toBe(3);
  });
});
