import { PassThrough, Readable } from 'node:stream';
import type { CompletedPart } from '@trainyard/artifacts';
import { createTrainyardClient } from '@trainyard/client';
import type { DatasetSnapshotManifest, UploadPlan } from '@trainyard/contracts';
import { codeOfHttpStatus, codeOfTrpcCode, DomainError, isDomainError, isDomainErrorCode } from '@trainyard/core';
import { assertSafeRemoteUrl, type HostResolver, type RemoteServer, type RemoteServerFactory, systemResolver } from '@trainyard/sync';
import { TRPCClientError } from '@trpc/client';

const REFUSED_TOKEN = 'the server refused the token (wrong or revoked)';

const detailsOf = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/**
 * Remote failures as domain errors, their codes and details as the server sent them (libs/core's
 * ERROR_CODES maps a tRPC code or an HTTP status back): the outbox retries the retryable codes
 * (UNAVAILABLE, …) and gives up on the rest.
 */
const asDomainError = (error: unknown, what: string): DomainError => {
  if (isDomainError(error)) return error;
  if (error instanceof TRPCClientError) {
    const data = (error.data ?? {}) as { code?: string; httpStatus?: number; details?: unknown };
    const status = data.httpStatus ?? (error.meta?.['response'] as Response | undefined)?.status;
    const code = (data.code ? codeOfTrpcCode(data.code) : undefined) ?? (status ? codeOfHttpStatus(status) : undefined);
    if (error.cause && isDomainError(error.cause)) return error.cause;
    if (code) return new DomainError(code, `${what}: ${status === 401 ? REFUSED_TOKEN : error.message}`, detailsOf(data.details));
  }
  return new DomainError('UNAVAILABLE', `${what}: ${error instanceof Error ? error.message : String(error)}`);
};

/** A raw route's refusal (`{ error: { code?, message, details? } }`): its own code when it names one, else the status's. */
const httpFailure = async (response: Response, what: string): Promise<DomainError> => {
  const body = (await response.json().catch(() => undefined)) as { error?: { code?: unknown; message?: string; details?: unknown } } | undefined;
  const message = body?.error?.message ?? response.statusText;
  const code = (isDomainErrorCode(body?.error?.code) ? body.error.code : undefined) ?? codeOfHttpStatus(response.status) ?? 'UNAVAILABLE';
  return new DomainError(code, `${what}: ${response.status === 401 ? REFUSED_TOKEN : message} (HTTP ${response.status})`, detailsOf(body?.error?.details));
};

/**
 * fetch that never follows redirects: a server answering with one (e.g. to the cloud
 * metadata address) is refused rather than trusted.
 */
const noRedirectFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, { ...init, redirect: 'manual' });
  if (response.status >= 300 && response.status < 400) {
    throw new DomainError(
      'FORBIDDEN',
      `The server answered with a redirect to ${response.headers.get('location') ?? '(no location)'}; redirects are not followed — configure the final URL`,
    );
  }
  return response;
};

/** How often one request is sent again after 429 (each after the server's Retry-After, ≤ 60 s). */
const RATE_LIMIT_RETRIES = 30;
const MAX_RETRY_AFTER_MS = 60_000;

const retryAfterMs = (response: Response): number => {
  const seconds = Number(response.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(MAX_RETRY_AFTER_MS, seconds * 1_000) : 1_000;
};

/**
 * A server's rate limit (429) refuses a request before reading it, so it is sent again after
 * the Retry-After it names; `init` is made anew for each attempt (a blob's body is a stream).
 * Still refused after RATE_LIMIT_RETRIES, it ends as a retryable failure (the outbox tries later).
 */
const fetchRespectingRateLimit = async (input: string | URL | Request, init: () => Promise<RequestInit | undefined>): Promise<Response> => {
  for (let attempt = 0; ; attempt += 1) {
    const request = await init();
    const response = await noRedirectFetch(input, request);
    if (response.status !== 429 || attempt >= RATE_LIMIT_RETRIES) return response;
    await response.arrayBuffer().catch(() => undefined);
    const body = request?.body as { destroy?: () => void } | null | undefined;
    body?.destroy?.();
    await new Promise((resolve) => setTimeout(resolve, retryAfterMs(response)));
  }
};

/** The sync worker's view of a shared server: typed tRPC calls plus the blob and part transfers. */
export const createRemoteServerFactory =
  (resolver: HostResolver = systemResolver): RemoteServerFactory =>
  ({ url, token }): RemoteServer => {
    // tRPC bodies are strings: the same init is sent again after a 429.
    const client = createTrainyardClient({ url, token, fetch: (input, init) => fetchRespectingRateLimit(input, async () => init) });
    const authorization = `Bearer ${token}`;
    const checkedOrigins = new Set<string>();
    const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
      try {
        return await run();
      } catch (error) {
        throw asDomainError(error, what);
      }
    };
    const send = (what: string, target: string, init: RequestInit | (() => Promise<RequestInit>)) =>
      call(what, () => fetchRespectingRateLimit(target, typeof init === 'function' ? init : async () => init));

    return {
      missingBlobs: (hashes) => call('negotiating blobs', () => client.sync.missingBlobs.mutate({ hashes })),
      startUpload: (sha256, size) => call('starting an upload', () => client.sync.startUpload.mutate({ sha256, size })),
      resumeUpload: (sessionId) => call('resuming an upload', () => client.sync.resumeUpload.mutate({ sessionId })),
      completeUpload: async (sessionId, parts: CompletedPart[]) => {
        await call('completing an upload', () => client.sync.completeUpload.mutate({ sessionId, parts }));
      },
      receiveVersion: (idempotencyKey, bundle) => call('registering the version', () => client.sync.receiveVersion.mutate({ idempotencyKey, bundle })),
      describeVersion: (model, ref, paged) => call('reading the version', () => client.sync.describeVersion.query({ model, ref, ...(paged ? { paged } : {}) })),
      versionArtifacts: async (model, version, offset, limit) =>
        (await call("reading the version's artifacts", () => client.sync.versionArtifacts.query({ model, version, offset, limit }))).artifacts,
      stageArtifacts: async (idempotencyKey, page, artifacts) => {
        await call("staging the version's artifacts", () => client.sync.stageArtifacts.mutate({ idempotencyKey, page, artifacts }));
      },
      receiveSnapshot: (manifest, origin) => call('registering the snapshot', () => client.sync.receiveSnapshot.mutate({ manifest, origin })),
      describeSnapshot: async (id) => {
        const described = await call('reading the snapshot', () => client.sync.describeSnapshot.query({ id }));
        return { ...described, filter: described.filter as DatasetSnapshotManifest['filter'] };
      },
      listSnapshots: (limit, cursor) => call('listing snapshots', () => client.datasets.list.query({ limit, ...(cursor ? { cursor } : {}) })),

      async putBlob(sha256, size, body) {
        // A fresh stream for every attempt: one refused with 429 is not read again.
        const response = await send(
          `uploading blob ${sha256}`,
          `${url}/blobs/sha256/${sha256}`,
          async () =>
            ({
              method: 'PUT',
              headers: { authorization, 'content-type': 'application/octet-stream', 'content-length': String(size) },
              body: (await body()) as unknown as RequestInit['body'],
              duplex: 'half',
            }) as RequestInit,
        );
        if (!response.ok) throw await httpFailure(response, `uploading blob ${sha256}`);
        await response.arrayBuffer();
      },

      async putBlobBatch(manifest, bytes) {
        const what = `uploading a batch of ${manifest.blobs.length} blobs`;
        const line = Buffer.from(`${JSON.stringify(manifest)}\n`);
        const length = line.length + manifest.blobs.reduce((sum, blob) => sum + blob.size, 0);
        const response = await send(what, `${url}/blob-batches`, async () => {
          // A fresh body for every attempt: one refused with 429 is not read again.
          const body = Readable.from(
            (async function* () {
              yield line;
              yield* bytes();
            })(),
          );
          return {
            method: 'POST',
            headers: { authorization, 'content-type': 'application/octet-stream', 'content-length': String(length) },
            body: body as unknown as RequestInit['body'],
            duplex: 'half',
          } as RequestInit;
        });
        if (!response.ok) throw await httpFailure(response, what);
        await response.arrayBuffer();
      },

      async uploadPart(plan: UploadPlan, partNumber, body) {
        const part = plan.parts.find((candidate) => candidate.number === partNumber);
        if (!part) throw new DomainError('INVALID_ARGUMENT', `The server gave no URL for part ${partNumber}`);
        const what = `uploading part ${partNumber} of ${plan.sha256}`;
        let response: Response;
        if (part.url) {
          // A presigned URL the server handed out: it must not point anywhere we would refuse.
          const origin = new URL(part.url).origin;
          if (!checkedOrigins.has(origin)) {
            await assertSafeRemoteUrl(part.url, resolver);
            checkedOrigins.add(origin);
          }
          response = await send(what, part.url, { method: 'PUT', body });
          // S3 refusing a presigned URL usually means it expired during a long upload: the next
          // attempt asks the server for fresh URLs (resumeUpload), so this is retryable.
          if (!response.ok) throw new DomainError('UNAVAILABLE', `${what}: the storage answered HTTP ${response.status}; retrying with fresh part URLs`);
        } else {
          response = await send(what, `${url}/uploads/${plan.sessionId}/${partNumber}`, {
            method: 'PUT',
            headers: { authorization, 'content-type': 'application/octet-stream' },
            body,
          });
        }
        if (!response.ok) throw await httpFailure(response, what);
        await response.arrayBuffer();
        const etag = response.headers.get('etag');
        if (!etag) throw new DomainError('UNAVAILABLE', `${what}: no ETag in the answer`);
        return etag;
      },

      async downloadBlobBatch(hashes) {
        const what = `downloading a batch of ${hashes.length} blobs`;
        const response = await send(what, `${url}/blob-batches/read`, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/json' },
          body: JSON.stringify({ hashes }),
        });
        if (!response.ok || !response.body) throw await httpFailure(response, what);
        const meter = new PassThrough();
        const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
        // A blob found corrupt on the server cuts the answer short, like a dropped connection: retried.
        source.on('error', (error) => meter.destroy(new DomainError('UNAVAILABLE', `${what}: ${error.message}`)));
        return source.pipe(meter);
      },

      async downloadBlob(sha256) {
        const response = await send(`downloading blob ${sha256}`, `${url}/blobs/sha256/${sha256}`, { headers: { authorization } });
        if (!response.ok || !response.body) throw await httpFailure(response, `downloading blob ${sha256}`);
        const meter = new PassThrough();
        const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
        // The server verifies while it serves and holds the last chunk back until the hash
        // matches, so a corrupt blob there ends short, like a dropped connection: retried. The
        // server has recorded it as corrupt by then, and the retry is refused with 422
        // (INTEGRITY), which fails the pull for good.
        source.on('error', (error) => meter.destroy(new DomainError('UNAVAILABLE', `downloading blob ${sha256}: ${error.message}`)));
        return source.pipe(meter);
      },
    };
  };
