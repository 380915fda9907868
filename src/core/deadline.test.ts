import { afterEach, describe, expect, it, vi } from 'vitest';
import { deadline, withDeadline } from './deadline.js';

describe('deadline', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts with a TimeoutError once the time is up, as AbortSignal.timeout does', async () => {
    const { signal } = deadline(20);
    expect(signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('never aborts once cleared, and frees its timer', () => {
    vi.useFakeTimers();
    const { signal, clear } = deadline(1000);
    expect(vi.getTimerCount()).toBe(1);
    clear();
    clear();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5000);
    expect(signal.aborted).toBe(false);
  });

  it('withDeadline frees the timer when the work succeeds or fails', async () => {
    vi.useFakeTimers();
    await expect(withDeadline(30_000, () => Promise.resolve('done'))).resolves.toBe('done');
    expect(vi.getTimerCount()).toBe(0);
    await expect(withDeadline(30_000, () => Promise.reject(new Error('broke')))).rejects.toThrow(
      'broke',
    );
    expect(vi.getTimerCount()).toBe(0);
  });

  it('withDeadline hands the work a signal that aborts when the time is up', async () => {
    vi.useFakeTimers();
    const seen = withDeadline(
      1000,
      (signal) =>
        new Promise<string>((resolve) => {
          signal.addEventListener('abort', () => resolve((signal.reason as Error).name));
        }),
    );
    vi.advanceTimersByTime(1000);
    await expect(seen).resolves.toBe('TimeoutError');
  });
});
