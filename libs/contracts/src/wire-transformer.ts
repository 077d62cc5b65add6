import superjson from 'superjson';

/**
 * Keys superjson refuses to serialize (its prototype-pollution guard throws): stored anywhere in
 * a response they would turn every later read containing them into a 500. Refused at input.
 */
export const RESERVED_JSON_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Deeper than this is left to superjson (which refuses cycles); API values are far shallower. */
const MAX_PLAIN_DEPTH = 64;

/**
 * True when JSON carries `value` exactly as it is — strings, booleans, null, finite numbers other
 * than -0, arrays without holes and plain objects of those — so superjson's answer for it is
 * `{ json: value }`. Keys superjson refuses (RESERVED_JSON_KEYS) are not plain: superjson then
 * refuses them as before.
 */
const isPlainJson = (value: unknown, depth: number): boolean => {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== 'object' || depth > MAX_PLAIN_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      if (!(index in value) || !isPlainJson(value[index], depth + 1)) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(value).length > 0) return false;
  for (const key of Object.keys(value)) {
    if (RESERVED_JSON_KEYS.has(key) || !isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
};

/**
 * The API's tRPC transformer: superjson on the wire (Dates, Maps, undefined… travel as
 * themselves), with its walk skipped for values that are plain JSON already. superjson's walk
 * records a path and an identity for every value it visits: for a version's 1 000 artifact
 * records (`sync.describeVersion`) it cost ~10 ms and as much again in garbage collection per
 * answer, where this check costs well under 1 ms (issue #24). The wire format is superjson's —
 * `{ json }` is what superjson sends for such a value — so either end may be plain superjson;
 * the one difference: an object that appears twice in a plain answer arrives as two equal
 * copies, where superjson would restore one shared object (nothing here relies on that).
 */
export const wireTransformer = {
  serialize: (value: unknown): ReturnType<typeof superjson.serialize> => (isPlainJson(value, 0) ? { json: value as never } : superjson.serialize(value)),
  deserialize: <T = unknown>(payload: Parameters<typeof superjson.deserialize>[0]): T => superjson.deserialize<T>(payload),
};
