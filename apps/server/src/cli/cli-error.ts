import { type DomainErrorCode, ERROR_CODES, httpStatusOf } from '@trainyard/core';
import { TRPCClientError } from '@trpc/client';
import { EXIT } from './exit-codes';

/** A failure the CLI explains in plain words; `exitCode` is one of EXIT. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface ErrorData {
  code?: string;
  httpStatus?: number;
  zodIssues?: Array<{ path: string[]; message: string }> | null;
}

/** The CLI's own concern: which exit code each domain code ends a command with. */
export const EXIT_FOR_CODE: Record<DomainErrorCode, number> = {
  INVALID_ARGUMENT: EXIT.USAGE,
  PAYLOAD_TOO_LARGE: EXIT.USAGE,
  UNAUTHENTICATED: EXIT.AUTH,
  FORBIDDEN: EXIT.AUTH,
  NOT_FOUND: EXIT.NOT_FOUND,
  CONFLICT: EXIT.CONFLICT,
  FAILED_PRECONDITION: EXIT.CONFLICT,
  INTEGRITY: EXIT.CONFLICT,
  UNAVAILABLE: EXIT.FAILURE,
};

/**
 * The same by HTTP status (what the CLI sees of a failure: tRPC's or a raw route's), each domain
 * code at its status in libs/core's ERROR_CODES; 415 is the guard refusing a body's media type.
 */
const HTTP_EXIT: Record<number, number> = {
  ...Object.fromEntries((Object.keys(ERROR_CODES) as DomainErrorCode[]).map((code) => [httpStatusOf(code), EXIT_FOR_CODE[code]])),
  415: EXIT.USAGE,
};

/** The reason a request never reached the server (fetch's "fetch failed" wraps it), if that is what happened. */
const connectionFailure = (error: unknown): string | undefined => {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof TypeError && current.message === 'fetch failed') {
      const cause = current.cause as { code?: string; message?: string } | undefined;
      return cause?.code ?? cause?.message ?? 'connection failed';
    }
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EPIPE|UND_ERR_SOCKET)$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
};

const AUTH_HINT =
  'Use the session token printed by `trainyard serve` (it is also in <data dir>/session.json), or for a shared server a token from `trainyard tokens create`.';

/** Turns any failure of a server call into one clear message and an exit code. */
export const explainError = (error: unknown, serverUrl: string | undefined): CliError => {
  if (error instanceof CliError) return error;
  const where = serverUrl ?? 'the server';
  const network = connectionFailure(error);
  if (network) {
    return new CliError(
      `Could not reach the Trainyard server at ${where} (${network}). Is it running? Start it with \`npm start\` (or \`npx trainyard serve\`), or pass --url.`,
      EXIT.UNREACHABLE,
    );
  }
  if (error instanceof TRPCClientError) {
    const data = (error.data ?? {}) as ErrorData;
    const status = data.httpStatus ?? (error.meta?.response as Response | undefined)?.status;
    if (data.zodIssues?.length) {
      const lines = data.zodIssues.map((issue) => `  ${issue.path.join('.') || '(input)'}: ${issue.message}`);
      return new CliError(`Invalid input:\n${lines.join('\n')}`, EXIT.USAGE);
    }
    if (status === 401) return new CliError(`The server at ${where} refused the token. ${AUTH_HINT}`, EXIT.AUTH);
    if (status === 403) return new CliError(`Not allowed: ${error.message}`, EXIT.AUTH);
    return new CliError(error.message, (status && HTTP_EXIT[status]) ?? EXIT.FAILURE);
  }
  return new CliError(error instanceof Error ? error.message : String(error), EXIT.FAILURE);
};

/** For plain HTTP routes (blobs, import): the guard answers `{ error: { message } }`. */
export const httpError = async (response: Response, serverUrl: string): Promise<CliError> => {
  const body = (await response.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  const message = body?.error?.message ?? response.statusText;
  if (response.status === 401) return new CliError(`The server at ${serverUrl} refused the token. ${AUTH_HINT}`, EXIT.AUTH);
  return new CliError(`${message} (HTTP ${response.status})`, HTTP_EXIT[response.status] ?? EXIT.FAILURE);
};
