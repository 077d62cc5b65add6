import { createTrainyardClient, type TrainyardOutputs, trainyardErrorInfo } from '@trainyard/client';
import { QueryCache, QueryClient } from '@tanstack/react-query';
import { describeError, isRetryable } from './lib/error-text';

/** Same origin, no token: the page signed in through POST /session and its HttpOnly cookie. */
export const api = createTrainyardClient({ url: window.location.origin, queryAttempts: 2 });

export type Job = TrainyardOutputs['jobs']['get'];
export type JobSummary = TrainyardOutputs['jobs']['list']['items'][number];
export type Trainer = TrainyardOutputs['jobs']['trainers'][number];
export type ModelVersion = TrainyardOutputs['models']['listVersions']['items'][number];
export type Artifact = TrainyardOutputs['artifacts']['list']['items'][number];
export type Snapshot = TrainyardOutputs['datasets']['list']['items'][number];
export type DataPoint = TrainyardOutputs['trainingData']['list']['items'][number];
export type LineageGraph = TrainyardOutputs['models']['lineage'];
export type MetricSeries = TrainyardOutputs['jobs']['metrics'];
export type OutboxEntry = TrainyardOutputs['sync']['status'][number];

export const isUnauthorized = (error: unknown): boolean => trainyardErrorInfo(error).httpStatus === 401;

export const queryClient: QueryClient = new QueryClient({
  defaultOptions: {
    // The client already retries transient failures; a refused sign-in must show at once.
    queries: { retry: false, refetchOnWindowFocus: false, staleTime: 1_000 },
  },
  queryCache: new QueryCache({
    // Any refused call (the server restarted with a new token, the cookie was cleared) sends
    // the app back to the sign-in form, which is shown while the health check is refused. Not
    // when the form is already up: re-checking a health query that never succeeded puts it back
    // to "pending", which would swap the form for the app and back, emptying what was typed
    // (a late 401 from the first screen's queries did that on a slow machine).
    onError: (error, query) => {
      if (!isUnauthorized(error) || query.queryKey[0] === 'health') return;
      if (queryClient.getQueryState(['health'])?.status === 'error') return;
      void queryClient.invalidateQueries({ queryKey: ['health'] }, { cancelRefetch: false });
    },
  }),
});

export const signIn = async (token: string): Promise<string | undefined> => {
  const response = await fetch('/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  if (response.ok) return undefined;
  const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
  return body.error?.message ?? `Sign-in failed (${response.status})`;
};

export const signOut = async (): Promise<void> => {
  await fetch('/session', { method: 'DELETE', headers: { 'content-type': 'application/json' } });
};

/** A failed call in plain words: a sentence and each refused field (never the validator's JSON). */
export const describeApiError = (error: unknown) => describeError(trainyardErrorInfo(error));

/** Whether "Try again" can help: unreachable, timed out or a server failure — not a 4xx. */
export const canRetry = (error: unknown): boolean => isRetryable(trainyardErrorInfo(error).httpStatus);

export const errorMessage = (error: unknown): string => {
  const { summary, fields } = describeApiError(error);
  return fields.length > 0 ? `${summary} ${fields.map((field) => `${field.label}: ${field.message}`).join('; ')}` : summary;
};
