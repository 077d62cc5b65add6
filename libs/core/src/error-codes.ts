import type { DomainErrorCode } from './errors';

/**
 * The tRPC error code names a domain code travels as. Plain strings: core does not depend on
 * tRPC; libs/api checks at compile time that each one is a `TRPC_ERROR_CODE_KEY`.
 */
export type TrpcErrorCodeName =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNPROCESSABLE_CONTENT'
  | 'SERVICE_UNAVAILABLE';

export interface ErrorCodeMapping {
  /** What the API answers a DomainError with (the tRPC code). */
  trpc: TrpcErrorCodeName;
  /** The HTTP status of that tRPC code; the raw HTTP routes answer with it too. */
  httpStatus: number;
  /** Whether the sync outbox tries again later (with backoff) rather than failing the entry. */
  retryable: boolean;
}

/**
 * The one table of what each domain code means on the wire and for retries. The API's error
 * middleware, the raw HTTP routes, the sync client (HTTP status / tRPC code back to a domain
 * code), the outbox's retry decision and the CLI's exit codes all derive from it.
 */
export const ERROR_CODES: Readonly<Record<DomainErrorCode, ErrorCodeMapping>> = {
  NOT_FOUND: { trpc: 'NOT_FOUND', httpStatus: 404, retryable: false },
  CONFLICT: { trpc: 'CONFLICT', httpStatus: 409, retryable: false },
  INVALID_ARGUMENT: { trpc: 'BAD_REQUEST', httpStatus: 400, retryable: false },
  FAILED_PRECONDITION: { trpc: 'PRECONDITION_FAILED', httpStatus: 412, retryable: false },
  INTEGRITY: { trpc: 'UNPROCESSABLE_CONTENT', httpStatus: 422, retryable: false },
  UNAUTHENTICATED: { trpc: 'UNAUTHORIZED', httpStatus: 401, retryable: false },
  FORBIDDEN: { trpc: 'FORBIDDEN', httpStatus: 403, retryable: false },
  // A size limit (the server's, or a proxy's in front of it) can be raised: the outbox keeps
  // trying with backoff, as it always has.
  PAYLOAD_TOO_LARGE: { trpc: 'PAYLOAD_TOO_LARGE', httpStatus: 413, retryable: true },
  UNAVAILABLE: { trpc: 'SERVICE_UNAVAILABLE', httpStatus: 503, retryable: true },
};

const DOMAIN_CODES = Object.keys(ERROR_CODES) as DomainErrorCode[];

export const isDomainErrorCode = (value: unknown): value is DomainErrorCode => typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);

export const httpStatusOf = (code: DomainErrorCode): number => ERROR_CODES[code].httpStatus;

export const trpcCodeOf = (code: DomainErrorCode): TrpcErrorCodeName => ERROR_CODES[code].trpc;

export const isRetryable = (code: DomainErrorCode): boolean => ERROR_CODES[code].retryable;

/** The domain code an HTTP status stands for; undefined for statuses no domain code answers with. */
export const codeOfHttpStatus = (status: number): DomainErrorCode | undefined => DOMAIN_CODES.find((code) => ERROR_CODES[code].httpStatus === status);

/** The domain code a tRPC code name stands for; undefined for codes no domain code maps to. */
export const codeOfTrpcCode = (trpc: string): DomainErrorCode | undefined => DOMAIN_CODES.find((code) => ERROR_CODES[code].trpc === trpc);
