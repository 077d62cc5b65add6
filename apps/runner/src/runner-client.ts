import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import pRetry, { AbortError } from 'p-retry';
import {
  RUNNER_ROUTE_PREFIX,
  type RunnerFinish,
  type RunnerInputs,
  type RunnerOutputFile,
  type RunnerRecord,
  runnerInputs,
  runnerRecordsAck,
} from '@trainyard/training/runner-kit';

/** An answer the runner must not retry: the token is revoked or expired, the request was refused as such. */
export class RunnerRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Statuses worth retrying: the server is starting, not following the job yet, busy, or the request raced another. */
const RETRYABLE = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

/**
 * The runner's side of the runner routes and the blob route: every call carries the job token in
 * its Authorization header and is retried with backoff (up to 5 s apart) while the server cannot
 * be reached or answers that it cannot take it yet; a refusal (401, 403, 400) ends the runner.
 */
export const createRunnerClient = (server: string, jobId: string, token: string, log: (message: string) => void) => {
  const base = server.replace(/\/+$/, '');
  const jobUrl = (path: string): string => `${base}${RUNNER_ROUTE_PREFIX}${jobId}/${path}`;
  const headers = { authorization: `Bearer ${token}` };
  /** Past this, retrying is pointless: until the inputs name the token's expiry, a while to wait for a server that is starting. */
  let giveUpAt = Date.now() + 15 * 60_000;

  const call = async (what: string, send: () => Promise<Response>): Promise<Response> =>
    pRetry(
      async () => {
        const response = await send();
        if (response.ok) return response;
        const text = await response.text().catch(() => '');
        const message = `${what}: HTTP ${response.status} ${text.slice(0, 500)}`;
        if (RETRYABLE.has(response.status)) throw new Error(message);
        throw new AbortError(new RunnerRefused(response.status, message));
      },
      {
        retries: Number.POSITIVE_INFINITY,
        maxRetryTime: Math.max(1, giveUpAt - Date.now()),
        minTimeout: 250,
        maxTimeout: 5_000,
        onFailedAttempt: ({ error, attemptNumber }) => {
          if (attemptNumber === 1 || attemptNumber % 20 === 0) log(`${what} failed (attempt ${attemptNumber}), retrying: ${error.message}`);
        },
      },
    );

  const json = (what: string, path: string, body: unknown) =>
    call(what, () => fetch(jobUrl(path), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) }));

  return {
    async inputs(): Promise<RunnerInputs> {
      const inputs = runnerInputs.parse(await (await call('reading the job inputs', () => fetch(jobUrl('inputs'), { headers }))).json());
      const expiry = Date.parse(inputs.tokenExpiresAt);
      if (Number.isFinite(expiry)) giveUpAt = expiry;
      return inputs;
    },
    async records(records: readonly RunnerRecord[]): Promise<{ acked: number; cancelRequested: boolean }> {
      return runnerRecordsAck.parse(await (await json('sending records', 'records', { records })).json());
    },
    async outputs(files: readonly RunnerOutputFile[]): Promise<void> {
      await json('registering outputs', 'outputs', { files });
    },
    async finish(finish: RunnerFinish): Promise<void> {
      await json('reporting the end', 'finish', finish);
    },
    /** The blob's bytes (the caller verifies them). */
    async download(sha256: string): Promise<Response> {
      return call(`downloading blob ${sha256}`, () => fetch(`${base}/blobs/sha256/${sha256}`, { headers }));
    },
    async upload(sha256: string, file: string): Promise<void> {
      await call(`uploading blob ${sha256}`, () =>
        fetch(`${base}/blobs/sha256/${sha256}`, {
          method: 'PUT',
          headers: { ...headers, 'content-type': 'application/octet-stream' },
          body: Readable.toWeb(createReadStream(file)) as ReadableStream,
          duplex: 'half',
        } as RequestInit),
      );
    },
  };
};

export type RunnerClient = ReturnType<typeof createRunnerClient>;
