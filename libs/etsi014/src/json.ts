import type { JsonObject } from './dto';

/** A JSON object proper: not null, not an array. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own members only, so `__proto__` or `constructor` in a body are just unknown names. */
export function member(object: JsonObject, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, name) ? object[name] : undefined;
}

/**
 * Whole numbers; `1.0` parses to the same value as `1`, so JSON cannot tell them apart. One beyond the exact
 * integers (`1e20`) is whole too, and meets the range checks that follow rather than a claim that it is no
 * integer.
 */
export function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}
