/**
 * Every expected failure is a DomainError with a stable code. The API layer maps codes to
 * transport errors in one place; anything that is not a DomainError is an internal error and
 * never reaches a client with its message.
 */
export type DomainErrorCode =
  'NOT_FOUND' | 'CONFLICT' | 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' | 'INTEGRITY' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'PAYLOAD_TOO_LARGE' | 'UNAVAILABLE';

export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;

export const notFound = (what: string, details: Record<string, unknown> = {}): DomainError => new DomainError('NOT_FOUND', `${what} not found`, details);
