import { describe, expect, it } from 'vitest';
import { emptyObservables } from '../core/alert.js';
import { WardenError } from '../core/errors.js';
import {
  sourceContextObservables,
  sourceContextValue,
  withSourceContext,
} from './source-context.js';
import { normalizePayload } from './source-registry.js';

function errorOf(fn: () => unknown): WardenError {
  try {
    fn();
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected a WardenError');
}

describe('sourceContextValue', () => {
  it('accepts a non-blank string of at most 200 characters, and absence', () => {
    expect(sourceContextValue(undefined, 'model')).toBeUndefined();
    expect(sourceContextValue('support-bot', 'model')).toBe('support-bot');
    expect(sourceContextValue('m'.repeat(200), 'model')).toBe('m'.repeat(200));
  });

  it.each([
    ['blank', '  '],
    ['empty', ''],
    ['too long', 'm'.repeat(201)],
    ['repeated (an array)', ['a', 'b']],
    ['a number', 7],
  ])('refuses a %s value with a 400 naming the field', (_label, value) => {
    const error = errorOf(() => sourceContextValue(value, 'x-warden-model'));
    expect(error).toMatchObject({ code: 'invalid_field', field: 'x-warden-model', status: 400 });
  });
});

describe('withSourceContext', () => {
  it('fills model, session and user when the observables lack them', () => {
    expect(sourceContextObservables({ model: 'm1', session: 's1', user: 'u1' })).toEqual({
      ...emptyObservables(),
      model: { id: 'm1' },
      sessionIds: ['s1'],
      users: ['u1'],
    });
    expect(sourceContextObservables(undefined)).toEqual(emptyObservables());
  });

  it('keeps what the payload has, and does not mutate it', () => {
    const own = {
      ...emptyObservables(),
      model: { id: 'own', version: '2' },
      sessionIds: ['own-s'],
      users: ['own-u'],
    };
    const before = JSON.stringify(own);
    expect(withSourceContext(own, { model: 'm1', session: 's1', user: 'u1' })).toEqual(own);
    expect(JSON.stringify(own)).toBe(before);
  });
});

describe('normalizePayload with a context', () => {
  it('passes the context to the format, which fills native observables', () => {
    const draft = normalizePayload({ type: 'jailbreak', title: 'DAN' }, undefined, {
      model: 'support-chatbot',
      session: 's-1',
      user: 'u-1',
    });
    expect(draft.observables).toMatchObject({
      model: { id: 'support-chatbot' },
      sessionIds: ['s-1'],
      users: ['u-1'],
    });
    // The raw payload stays as received.
    expect(draft.raw).toEqual({ type: 'jailbreak', title: 'DAN' });
  });

  it('leaves native observables the payload has alone', () => {
    const draft = normalizePayload(
      {
        type: 'jailbreak',
        title: 'DAN',
        observables: { model: { id: 'own' }, users: ['mallory'], session_ids: ['s-own'] },
      },
      'native',
      { model: 'ctx', session: 'ctx-s', user: 'ctx-u' },
    );
    expect(draft.observables).toMatchObject({
      model: { id: 'own' },
      users: ['mallory'],
      sessionIds: ['s-own'],
    });
  });
});
