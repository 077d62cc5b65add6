import { z } from 'zod';
import { RESERVED_JSON_KEYS } from './wire-transformer';

/** Limits shared by every input: bounded sizes are part of the contract, not an afterthought. */
export const LIMITS = {
  nameLength: 255,
  descriptionLength: 10_000,
  pageSize: 200,
  tagsPerItem: 50,
  tagLength: 64,
} as const;

export const pageInput = {
  limit: z.number().int().min(1).max(LIMITS.pageSize).default(50),
  cursor: z.string().max(200).optional(),
};

/** Bounds of free-form JSON fields (hyperparameters, metadata, sync bundles). */
export const JSON_LIMITS = {
  /** Serialized size (UTF-8 bytes of its JSON) of hyperparameters and of each metadata object. */
  objectBytes: 64 * 1024,
  maxDepth: 32,
  keyLength: 128,
} as const;

export interface JsonBounds {
  /** Largest serialized size in UTF-8 bytes. */
  maxBytes: number;
  /** Deepest nesting: 1 = a flat object of scalars. Default JSON_LIMITS.maxDepth. */
  maxDepth?: number;
  /** Longest key. Default JSON_LIMITS.keyLength. */
  maxKeyLength?: number;
}

export interface JsonProblem {
  path: PropertyKey[];
  message: string;
}

const formatBytes = (bytes: number): string => (bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`);

const isPlainObject = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * The first problem of a value that should be plain, bounded JSON: a reserved key, a key too
 * long, nesting too deep, a non-JSON value (Date, Map, NaN, …) or more than `maxBytes` once
 * serialized. The walk stops as soon as the size is known to be over (a lower estimate is
 * counted on the way, so a 4 MB object is refused without serializing it).
 */
export const jsonProblem = (value: unknown, bounds: JsonBounds): JsonProblem | undefined => {
  const maxDepth = bounds.maxDepth ?? JSON_LIMITS.maxDepth;
  const maxKeyLength = bounds.maxKeyLength ?? JSON_LIMITS.keyLength;
  const tooLarge = `must be at most ${formatBytes(bounds.maxBytes)} as JSON`;
  let estimate = 0;
  const path: PropertyKey[] = [];
  const walk = (node: unknown, depth: number): JsonProblem | undefined => {
    if (node === null || typeof node === 'boolean') {
      estimate += 4;
    } else if (typeof node === 'number') {
      if (!Number.isFinite(node)) return { path: [...path], message: 'must be a finite number (JSON has no NaN or Infinity)' };
      estimate += 1;
    } else if (typeof node === 'string') {
      estimate += node.length + 2;
    } else if (typeof node === 'object') {
      if (depth >= maxDepth)
        return { path: [...path], message: maxDepth === 1 ? 'must be a string, number, boolean or null (no nesting)' : `nests deeper than ${maxDepth} levels` };
      if (Array.isArray(node)) {
        estimate += 2;
        for (let index = 0; index < node.length; index += 1) {
          path.push(index);
          const problem = walk(node[index], depth + 1);
          path.pop();
          if (problem) return problem;
          estimate += 1;
          if (estimate > bounds.maxBytes) return { path: [], message: tooLarge };
        }
      } else {
        if (!isPlainObject(node)) return { path: [...path], message: 'must be plain JSON (no dates, maps, sets or class instances)' };
        estimate += 2;
        for (const key of Object.keys(node)) {
          if (RESERVED_JSON_KEYS.has(key)) {
            return { path: [...path, key], message: `key "${key}" is not allowed (reserved: ${[...RESERVED_JSON_KEYS].join(', ')})` };
          }
          if (key.length > maxKeyLength) return { path: [...path, key.slice(0, 32)], message: `keys must be at most ${maxKeyLength} characters` };
          estimate += key.length + 4;
          path.push(key);
          const problem = walk((node as Record<string, unknown>)[key], depth + 1);
          path.pop();
          if (problem) return problem;
          if (estimate > bounds.maxBytes) return { path: [], message: tooLarge };
        }
      }
    } else {
      return { path: [...path], message: `must be JSON (got ${typeof node})` };
    }
    return estimate > bounds.maxBytes ? { path: [], message: tooLarge } : undefined;
  };
  const problem = walk(value, 0);
  if (problem) return problem;
  // The estimate never overcounts; the exact size is cheap once it is known to be small.
  if (new TextEncoder().encode(JSON.stringify(value)).length > bounds.maxBytes) return { path: [], message: tooLarge };
  return undefined;
};

const boundedJson = <T>(bounds: JsonBounds, requireObject: boolean) =>
  z
    .custom<T>(() => true)
    .superRefine((value, ctx) => {
      if (requireObject && (typeof value !== 'object' || value === null || Array.isArray(value))) {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
        return;
      }
      const problem = jsonProblem(value, bounds);
      if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
    });

/** Any bounded JSON value; every free-form JSON input goes through this or `jsonObject`. (Typed loosely, as stored JSON columns are.) */
export const jsonValue = (bounds: JsonBounds) => boundedJson<unknown>(bounds, false);
/** A bounded JSON object (hyperparameters, metadata). */
export const jsonObject = (bounds: JsonBounds) => boundedJson<Record<string, unknown>>(bounds, true);

/** Flat metadata: up to 64 keys of strings (≤ 4 096 characters), numbers, booleans or null, ≤ 64 KiB. */
export const scalarMetadata = jsonObject({ maxBytes: JSON_LIMITS.objectBytes, maxDepth: 1 }).pipe(
  z
    .record(z.string(), z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]))
    .refine((value) => Object.keys(value).length <= 64, 'at most 64 metadata keys'),
);

// Outputs. A procedure's output schema says what it returns; tRPC checks each resolver's value
// against it. They stay cheap — plain objects and arrays, no refinements — because list
// procedures run them on every row.

/**
 * Stored free-form JSON (metadata, metrics, hyperparameters, reports) handed back as it is: it
 * was checked on the way in, and is not walked again on the way out (a legacy row holding a
 * reserved key keeps it, for the API's reserved-key filter to drop and log).
 */
export const storedJson = <T = unknown>() => z.custom<T>();

/** A page of a list: its items, and the cursor of the next page (`null` on the last one). */
export const pageOutput = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** `{ deleted: true }`: what a delete answers. */
export const deletedOutput = z.object({ deleted: z.literal(true) });

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> => typeof value === 'object' && value !== null && Symbol.asyncIterator in value;

/**
 * A subscription's output. tRPC hands its output parser the async iterable itself, not the
 * values, so this is the pattern its documentation gives (`zAsyncIterable`): the iterable is
 * wrapped, and each value is checked against `item` as it is sent. Ending the wrapper (the
 * client went away) ends the iterable it wraps, so the resolver's `finally` still runs.
 */
export const asyncIterableOf = <T extends z.ZodType>(item: T) =>
  z.custom<AsyncIterable<z.input<T>>>(isAsyncIterable).transform(async function* (iterable): AsyncGenerator<z.output<T>, void, unknown> {
    const iterator = iterable[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        const parsed = item.safeParse(next.value);
        // The issues stay on the server: a client gets a generic internal error, as for other outputs.
        if (!parsed.success) throw new Error('Output validation failed', { cause: parsed.error });
        yield parsed.data;
      }
    } finally {
      await iterator.return?.();
    }
  });

/** A random seed a run can be repeated with: one 31-bit range, 42 unless given (snapshot splits, trainers). */
export const seedSchema = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1)
  .default(42);
