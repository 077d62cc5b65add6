import { ApiException } from '@kubernetes/client-node';

/**
 * An API error as a job's error line: the status code and the API server's own message (its
 * Status body's `message`: "jobs.batch is forbidden: User … cannot create …"), not the client's
 * dump of the body and every response header.
 */
export const describeApiError = (error: unknown, doing: string): Error => {
  if (!(error instanceof ApiException)) return error instanceof Error ? error : new Error(String(error));
  const body: unknown = typeof error.body === 'string' ? safeParse(error.body) : error.body;
  const message =
    typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message
      : undefined;
  return new Error(`${doing}: Kubernetes answered ${error.code}${message ? `: ${message}` : ''}`);
};

const safeParse = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};
