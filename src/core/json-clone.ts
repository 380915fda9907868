/**
 * A deep copy of a JSON value (what the store keeps: run states, case
 * documents). Several times faster than `structuredClone`, which pays for
 * types JSON cannot hold; like `JSON.stringify`, it drops `undefined` fields.
 */
export function cloneJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i += 1) copy[i] = cloneJson(value[i] as unknown);
    return copy as T;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) copy[key] = cloneJson(field);
  }
  return copy as T;
}
