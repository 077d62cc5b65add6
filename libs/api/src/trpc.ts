import { initTRPC, TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { type DomainErrorCode, isDomainError, trpcCodeOf } from '@trainyard/core';
import { ZodError } from 'zod';
import { RESERVED_JSON_KEYS, scopeAllows, type TokenScope, wireTransformer } from '@trainyard/contracts';
import type { ApiContext } from './context';

/** The tRPC code a domain code travels as (libs/core's ERROR_CODES); checked here to be one tRPC knows. */
const trpcCodeFor = (code: DomainErrorCode): TRPC_ERROR_CODE_KEY => trpcCodeOf(code);

const t = initTRPC.context<ApiContext>().create({
  transformer: wireTransformer,
  // Never send stack traces, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    const domain = isDomainError(error.cause) ? error.cause : undefined;
    const zodIssues =
      error.code === 'BAD_REQUEST' && error.cause instanceof ZodError
        ? error.cause.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message }))
        : undefined;
    return {
      ...shape,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        domainCode: domain?.code ?? null,
        details: domain?.details ?? null,
        zodIssues: zodIssues ?? null,
      },
    };
  },
});

/**
 * The one place where failures become transport errors: domain errors keep their message and
 * code; anything else is logged here and reaches the client as a generic message with no
 * stack, SQL or path in it.
 */
const mapErrors = t.middleware(async ({ next, ctx, path }) => {
  const result = await next();
  if (result.ok) return result;
  const error = result.error;
  const cause = error.cause;
  if (isDomainError(cause)) {
    throw new TRPCError({ code: trpcCodeFor(cause.code), message: cause.message, cause });
  }
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    ctx.logger.error({ path, err: cause ?? error }, 'internal error');
    throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' });
  }
  return result;
});

/**
 * The value without keys superjson refuses to serialize (`__proto__`, `constructor`,
 * `prototype`), which inputs no longer accept but rows stored by older versions may hold; the
 * value itself when it has none (the common case: nothing is copied).
 */
export const withoutReservedKeys = (value: unknown): unknown => {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, index) => {
      const clean = withoutReservedKeys(item);
      if (clean !== item) (copy ??= [...value])[index] = clean;
    });
    return copy ?? value;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value; // Date, Map, streams, generators: leaves
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (RESERVED_JSON_KEYS.has(key)) {
      copy ??= { ...(value as Record<string, unknown>) };
      delete copy[key];
      continue;
    }
    const clean = withoutReservedKeys(item);
    if (clean !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = clean;
  }
  return copy ?? value;
};

/** Rows stored before such keys were refused must not keep a list answering 500 for good. */
const dropReservedKeys = t.middleware(async ({ next, ctx, path }) => {
  const result = await next();
  if (!result.ok) return result;
  const clean = withoutReservedKeys(result.data);
  if (clean === result.data) return result;
  ctx.logger.error({ path }, 'response held reserved JSON keys (__proto__, constructor, prototype) stored by an older version; they were left out');
  return { ...result, data: clean };
});

/** Reads need `read`, changes need `write`; `trainingProcedure` needs `train`, `adminProcedure` `admin`. */
const requireScope = (fixed?: TokenScope) =>
  t.middleware(({ ctx, type, next }) => {
    const needed = fixed ?? (type === 'mutation' ? 'write' : 'read');
    if (!scopeAllows(ctx.scope, needed)) {
      throw new TRPCError({ code: 'FORBIDDEN', message: `This token's scope (${ctx.scope}) does not allow this; it needs ${needed}` });
    }
    return next();
  });

export const router = t.router;
/** Needs a token whose scope covers the call: `read` for queries and subscriptions, `write` for mutations. */
export const scopedProcedure = t.procedure.use(mapErrors).use(requireScope()).use(dropReservedKeys);
export const adminProcedure = t.procedure.use(mapErrors).use(requireScope('admin')).use(dropReservedKeys);
/** Creates or controls training jobs: a token needs `train` (or `admin`); `write` is not enough, since a job runs code. */
export const trainingProcedure = t.procedure.use(mapErrors).use(requireScope('train')).use(dropReservedKeys);
export const createCallerFactory = t.createCallerFactory;
