import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3TestServer } from '@trainyard/test-services';
import { randomBytes } from 'node:crypto';
import { createApiTokenService } from '@trainyard/auth';
import type { TrainyardClient } from '@trainyard/client';
import { sha256Hex } from '@trainyard/core';
import { openDatabase } from '@trainyard/db';
import type { TokenScope } from '@trainyard/contracts';
import pLimit from 'p-limit';
import { vi } from 'vitest';

/** Random bytes of a given size: incompressible, so every test blob is distinct. */
export const randomBlob = (size: number): Buffer => randomBytes(size);

export const putBlob = async (url: string, token: string, bytes: Buffer): Promise<string> => {
  const hash = sha256Hex(bytes);
  const response = await fetch(`${url}/blobs/sha256/${hash}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  if (!response.ok) throw new Error(`PUT blob failed: ${response.status} ${await response.text()}`);
  return hash;
};

/** A version of `model` on a local server whose artifacts are the given files. */
export const createVersionWithFiles = async (
  server: { url: string; token: string },
  client: TrainyardClient,
  model: string,
  files: Array<{ name: string; bytes: Buffer }>,
  metrics: Record<string, number> = { accuracy: 0.9 },
  /** Files stored and registered at once (many small files go faster side by side). */
  concurrency = 1,
): Promise<number> => {
  await client.models.register.mutate({ name: model, description: `${model} for sync tests` }).catch(() => undefined);
  const limit = pLimit(concurrency);
  const artifactIds = await Promise.all(
    files.map((file) =>
      limit(async () => {
        const hash = await putBlob(server.url, server.token, file.bytes);
        return (await client.artifacts.register.mutate({ sha256: hash, name: file.name, type: 'model' })).id;
      }),
    ),
  );
  const version = await client.models.createVersion.mutate({ model, metrics, artifactIds });
  return version.version;
};

/**
 * A version of `count` distinct random blobs of `size` bytes on a local server, made as a user with
 * many small files would: blobs 1 000 to a `POST /blob-batches`, records 1 000 to an
 * `artifacts.registerMany`, then one `createVersion`. Returns the version's number and the blob
 * each `sample` index (others are not kept: 100 000 of them stay out of the test's memory).
 */
export const createVersionOfSmallBlobs = async (
  server: { url: string; token: string },
  client: TrainyardClient,
  model: string,
  options: { count: number; size: number; sample: readonly number[] },
): Promise<{ version: number; sample: Map<number, Buffer> }> => {
  await client.models.register.mutate({ name: model, description: `${model} for sync tests` }).catch(() => undefined);
  const sample = new Map<number, Buffer>();
  const ids: string[] = [];
  for (let start = 0; start < options.count; start += 1_000) {
    const blobs = Array.from({ length: Math.min(1_000, options.count - start) }, () => randomBlob(options.size));
    blobs.forEach((bytes, offset) => void (options.sample.includes(start + offset) && sample.set(start + offset, bytes)));
    const hashes = blobs.map((bytes) => sha256Hex(bytes));
    const manifest = JSON.stringify({ blobs: blobs.map((bytes, index) => ({ sha256: hashes[index], size: bytes.length })) });
    const response = await fetch(`${server.url}/blob-batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/octet-stream' },
      body: Buffer.concat([Buffer.from(`${manifest}\n`), ...blobs]),
    });
    if (!response.ok) throw new Error(`POST /blob-batches failed: ${response.status} ${await response.text()}`);
    const registered = await client.artifacts.registerMany.mutate({
      artifacts: hashes.map((sha256, index) => ({ sha256, name: `part-${String(start + index).padStart(6, '0')}.bin`, type: 'checkpoint' })),
    });
    ids.push(...registered.ids);
  }
  const version = await client.models.createVersion.mutate({ model, metrics: { accuracy: 0.9 }, artifactIds: ids });
  return { version: version.version, sample };
};

/** Tokens straight in the shared server's database, as `trainyard tokens create` does. */
export const createServerToken = async (databaseUrl: string, name: string, scope: TokenScope): Promise<{ token: string; id: string }> => {
  const database = await openDatabase({ kind: 'postgresql', url: databaseUrl });
  try {
    const { token, record } = await createApiTokenService(database).create(name, scope);
    return { token, id: record.id };
  } finally {
    await database.close();
  }
};

export const revokeServerToken = async (databaseUrl: string, id: string): Promise<void> => {
  const database = await openDatabase({ kind: 'postgresql', url: databaseUrl });
  try {
    await createApiTokenService(database).revoke(id);
  } finally {
    await database.close();
  }
};

type Entry = { id: string; state: string; error: string | null; attempts: number; remoteVersion: number | null; localVersion: number | null };

/** Polls an outbox entry until it reaches one of `states`. */
export const waitForEntry = (client: TrainyardClient, id: string, states: string[], timeoutMs = 60_000): Promise<Entry> =>
  vi.waitFor(
    async () => {
      const entry = await client.sync.get.query({ id });
      if (!states.includes(entry.state)) throw new Error(`sync entry still ${entry.state} (${entry.error ?? 'no error'}) after ${timeoutMs} ms`);
      return entry;
    },
    { timeout: timeoutMs, interval: 100 },
  );

/**
 * Where a shared server's S3 store keeps a blob's bytes: its own object, or a slice of a pack
 * (small blobs received in a batch, issue #24) — so a test can tamper with exactly those bytes.
 */
export const storedBlobLocation = async (databaseUrl: string, sha256: string): Promise<{ key: string; offset: number; size: number }> => {
  const database = await openDatabase({ kind: 'postgresql', url: databaseUrl });
  try {
    const [row] = await database.sql.query<{ size: string; packSha256: string | null; packOffset: string | null }>(
      `SELECT "size", "packSha256", "packOffset" FROM "StoredBlob" WHERE "sha256" = $1`,
      [sha256],
    );
    if (!row) throw new Error(`Blob ${sha256} is not stored`);
    return row.packSha256
      ? { key: `packs/${row.packSha256.slice(0, 2)}/${row.packSha256}`, offset: Number(row.packOffset), size: Number(row.size) }
      : { key: `sha256/${sha256.slice(0, 2)}/${sha256}`, offset: 0, size: Number(row.size) };
  } finally {
    await database.close();
  }
};

/** Flips byte `at` of an object in the test bucket behind the shared server's back (its own object, or a pack holding the blob). */
export const flipByteInBucket = async (bucket: S3TestServer, key: string, at: number): Promise<void> => {
  const client = new S3Client({ region: 'us-east-1', endpoint: bucket.endpoint, forcePathStyle: true, credentials: bucket.credentials });
  const object = await client.send(new GetObjectCommand({ Bucket: bucket.bucket, Key: key }));
  const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  await client.send(new PutObjectCommand({ Bucket: bucket.bucket, Key: key, Body: bytes }));
};
