import { createServer, type Server } from 'node:http';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { sha256Hex } from '@trainyard/core';
import { freePort, postgresUnavailableReason, type S3TestServer } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';
import type { SharedServer } from './test-support/shared-server';
import { createServerToken, createVersionWithFiles, flipByteInBucket, randomBlob, revokeServerToken, waitForEntry } from './test-support/sync-fixtures';
import { FAST_SYNC_RETRY, startTeamRegistry, type TeamRegistry } from './test-support/team-registry';

const skip = postgresUnavailableReason();
// ONNX models are not loaded (the scoring test's model.onnx is not one); scoring.json is still read and checked.
const laptop = useLocalTestServer({ ...FAST_SYNC_RETRY, TRAINYARD_SCORING: 'off' });
const teammate = useLocalTestServer({ ...FAST_SYNC_RETRY, TRAINYARD_SCORING: 'off' });

let registry: TeamRegistry;
let s3: S3TestServer;
let shared: SharedServer;
let tokens: { write: string; read: string; revoked: string };
let serverAdmin: TrainyardClient;

describe.skipIf(skip)(`push and pull between a laptop and a shared server (PostgreSQL + S3)${skip ? ` — skipped: ${skip}` : ''}`, () => {
  beforeAll(async () => {
    registry = await startTeamRegistry('server');
    ({ shared, s3 } = registry);
    const { databaseUrl } = registry;
    const revoked = await createServerToken(databaseUrl, 'old laptop', 'write');
    await revokeServerToken(databaseUrl, revoked.id);
    tokens = {
      write: (await createServerToken(databaseUrl, 'laptop', 'write')).token,
      read: (await createServerToken(databaseUrl, 'teammate', 'read')).token,
      revoked: revoked.token,
    };
    serverAdmin = createTrainyardClient({ url: shared.url, token: (await createServerToken(databaseUrl, 'admin', 'admin')).token });
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it('refuses the session token and wrong or revoked tokens in shared mode; a read token cannot push', async () => {
    const status = async (token: string) =>
      (
        await fetch(`${shared.url}/trpc/models.list?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status;
    expect(await status(laptop.server.token)).toBe(401);
    expect(await status('tyd_not-a-real-token-at-all')).toBe(401);
    expect(await status(tokens.revoked)).toBe(401);
    expect(await status(tokens.read)).toBe(200);
    const readOnly = createTrainyardClient({ url: shared.url, token: tokens.read });
    await expect(readOnly.sync.missingBlobs.mutate({ hashes: [] })).rejects.toThrow(/scope \(read\) does not allow this; it needs write/);
    await expect(serverAdmin.sync.push.mutate({ remote: 'any', model: 'detector', ref: { version: 1 } })).rejects.toThrow(/shared server mode/);
    // Nor does it move datasets at once: a token would make the server fetch from, or send its data to, any URL a remote names.
    const snapshotId = '00000000-0000-4000-8000-000000000001';
    await expect(serverAdmin.sync.pushDataset.mutate({ remote: 'any', snapshotId })).rejects.toThrow(/shared server mode/);
    await expect(serverAdmin.sync.pullDataset.mutate({ remote: 'any', snapshotId })).rejects.toThrow(/shared server mode/);
    await expect(serverAdmin.sync.remoteSnapshots.query({ remote: 'any', limit: 10 })).rejects.toThrow(/shared server mode/);
    const blobPut = await fetch(`${shared.url}/blobs/sha256/${sha256Hex(Buffer.from('x'))}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${tokens.read}`, 'content-type': 'application/octet-stream' },
      body: 'x',
    });
    expect(blobPut.status).toBe(403);
  });

  it('pushes a version: one negotiation, parts straight to S3, verified, registered with lineage; pushing again creates nothing', async () => {
    const large = randomBlob(72 * 1024 * 1024); // over SMALL_BLOB_BYTES (64 MiB): resumable parts
    const files = [
      { name: 'model.bin', bytes: large },
      { name: 'config.json', bytes: Buffer.from('{"features":16384}') },
      { name: 'vocab.txt', bytes: randomBlob(10_000) },
    ];
    const version = await createVersionWithFiles(laptop.server, laptop.client, 'detector', files, { val_accuracy: 0.93 });
    await laptop.client.models.setAlias.mutate({ model: 'detector', alias: 'champion', version });
    await laptop.client.sync.addRemote.mutate({ name: 'team', url: shared.url, token: tokens.write });

    const queued = await laptop.client.sync.push.mutate({ remote: 'team', model: 'detector', ref: { alias: 'champion' } });
    const pushed = await waitForEntry(laptop.client, queued.id, ['done', 'failed']);
    expect(pushed).toMatchObject({ state: 'done', error: null });
    expect(await laptop.client.sync.get.query({ id: queued.id })).toMatchObject({
      bytesDone: large.length + 18 + 10_000,
      bytesTotal: large.length + 18 + 10_000,
      remoteVersion: 1,
      localVersion: version,
    });

    const remoteVersion = await serverAdmin.models.getVersion.query({ model: 'detector', ref: { version: 1 } });
    expect(remoteVersion.metrics).toEqual({ val_accuracy: 0.93 });
    expect(remoteVersion.artifactIds).toHaveLength(3);
    expect(remoteVersion.provenance).toMatchObject({ pushedFrom: { model: 'detector', version } });
    const served = Buffer.from(
      await (await fetch(`${shared.url}/blobs/sha256/${sha256Hex(large)}`, { headers: { authorization: `Bearer ${tokens.read}` } })).arrayBuffer(),
    );
    expect(sha256Hex(served)).toBe(sha256Hex(large));

    // No staging copies, no duplicates: the large blob is its own object, the two small ones
    // (sent in one batch) share one pack.
    const objects = await s3.listKeys();
    expect(objects.filter((key) => key.includes('/uploads/'))).toEqual([]);
    expect(objects.filter((key) => key.includes('/sha256/'))).toEqual([`shared/sha256/${sha256Hex(large).slice(0, 2)}/${sha256Hex(large)}`]);
    expect(objects.filter((key) => key.includes('/packs/'))).toHaveLength(1);

    const again = await laptop.client.sync.push.mutate({ remote: 'team', model: 'detector', ref: { version } });
    expect(again).toMatchObject({ id: queued.id, state: 'done' });
    // The same version through another remote name for the same server: still one version there.
    await laptop.client.sync.addRemote.mutate({ name: 'team-again', url: shared.url, token: tokens.write });
    const viaOtherName = await laptop.client.sync.push.mutate({ remote: 'team-again', model: 'detector', ref: { version } });
    expect(await waitForEntry(laptop.client, viaOtherName.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    expect(await laptop.client.sync.get.query({ id: viaOtherName.id })).toMatchObject({ remoteVersion: 1 });
    // The described version is the bundle plus what the server serves in batches (blobBatches).
    const { blobBatches, ...described } = await serverAdmin.sync.describeVersion.query({ model: 'detector', ref: { version: 1 } });
    expect(blobBatches).toMatchObject({ maxBlobs: 1_000 });
    const direct = await createTrainyardClient({ url: shared.url, token: tokens.write }).sync.receiveVersion.mutate({
      idempotencyKey: `version:${(await laptop.client.models.getVersion.query({ model: 'detector', ref: { version } })).id}`,
      bundle: described,
    });
    expect(direct).toEqual({ model: 'detector', version: 1, created: false });
    expect((await serverAdmin.models.listVersions.query({ model: 'detector' })).items).toHaveLength(1);
    expect((await laptop.client.sync.listRemotes.query()).find((r) => r.name === 'team')?.links).toEqual([
      { model: 'detector', localVersion: version, remoteVersion: 1, direction: 'push' },
    ]);
  }, 120_000);

  it('pulls with hash verification into a machine whose own numbering differs, idempotently; a read token is enough', async () => {
    // The teammate already has two local versions of a model with the same name.
    await createVersionWithFiles(teammate.server, teammate.client, 'detector', [{ name: 'a', bytes: randomBlob(100) }]);
    await createVersionWithFiles(teammate.server, teammate.client, 'detector', [{ name: 'b', bytes: randomBlob(100) }]);
    await teammate.client.sync.addRemote.mutate({ name: 'team', url: shared.url, token: tokens.read });
    const pull = await teammate.client.sync.pull.mutate({ remote: 'team', model: 'detector', ref: { version: 1 } });
    expect(await waitForEntry(teammate.client, pull.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    const entry = await teammate.client.sync.get.query({ id: pull.id });
    expect(entry).toMatchObject({ localVersion: 3, remoteVersion: 1 });
    const local = await teammate.client.models.getVersion.query({ model: 'detector', ref: { version: 3 } });
    expect(local.provenance).toMatchObject({ pulledFrom: { remote: 'team', version: 1 } });
    expect(local.artifactIds).toHaveLength(3);

    const again = await teammate.client.sync.pull.mutate({ remote: 'team', model: 'detector', ref: { version: 1 } });
    expect(await waitForEntry(teammate.client, again.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    expect(await teammate.client.sync.get.query({ id: again.id })).toMatchObject({ localVersion: 3 });
    expect((await teammate.client.models.listVersions.query({ model: 'detector' })).items).toHaveLength(3);
    expect((await teammate.client.sync.listRemotes.query())[0]?.links).toEqual([{ model: 'detector', localVersion: 3, remoteVersion: 1, direction: 'pull' }]);

    // A read token cannot push.
    const push = await teammate.client.sync.push.mutate({ remote: 'team', model: 'detector', ref: { version: 1 } });
    expect(await waitForEntry(teammate.client, push.id, ['done', 'failed'])).toMatchObject({ state: 'failed', error: expect.stringMatching(/scope \(read\)/) });
  }, 120_000);

  it('checks the scoring files of a pulled version (reads scoring.json) once their blobs are stored, and pulls it', async () => {
    const contract = { format: 'onnx', input: { name: 'input_ids', encoding: 'utf8-bytes', maxLength: 64 }, output: { name: 'score', kind: 'probability' } };
    const files = [
      { name: 'output/model/scoring.json', bytes: Buffer.from(JSON.stringify(contract)) },
      { name: 'output/model/model.onnx', bytes: randomBlob(4096) },
    ];
    const version = await createVersionWithFiles(laptop.server, laptop.client, 'scored', files);
    const push = await laptop.client.sync.push.mutate({ remote: 'team', model: 'scored', ref: { version } });
    expect(await waitForEntry(laptop.client, push.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    // The check reads scoring.json from the teammate's store, which the pull is still making durable.
    const pull = await teammate.client.sync.pull.mutate({ remote: 'team', model: 'scored', ref: { version: 1 } });
    expect(await waitForEntry(teammate.client, pull.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    expect((await teammate.client.models.getVersion.query({ model: 'scored', ref: { version: 1 } })).artifactIds).toHaveLength(2);
  }, 60_000);

  it('refuses a tampered blob on pull and registers nothing', async () => {
    const bytes = randomBlob(64 * 1024);
    const version = await createVersionWithFiles(laptop.server, laptop.client, 'tampered', [{ name: 'weights', bytes }]);
    const before = new Set(await s3.listKeys());
    const push = await laptop.client.sync.push.mutate({ remote: 'team', model: 'tampered', ref: { version } });
    expect(await waitForEntry(laptop.client, push.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    // The one object the push added: the pack the small blob went into.
    const added = (await s3.listKeys()).filter((key) => !before.has(key));
    expect(added).toEqual([expect.stringContaining('shared/packs/')]);
    await flipByteInBucket(s3, added[0] as string, 100);

    const pull = await teammate.client.sync.pull.mutate({ remote: 'team', model: 'tampered', ref: { version: 1 } });
    const failed = await waitForEntry(teammate.client, pull.id, ['done', 'failed']);
    expect(failed).toMatchObject({ state: 'failed', error: expect.stringMatching(/corrupt|hash mismatch/i) });
    await expect(teammate.client.models.get.query({ model: 'tampered' })).rejects.toThrow(/not found/i);
  }, 60_000);

  it('parts with the wrong bytes are refused at completion, leave nothing under the hash, never replace a verified blob; a completion cut short is verified on retry', async () => {
    const writer = createTrainyardClient({ url: shared.url, token: tokens.write });
    const bytes = randomBlob(20 * 1024 * 1024);
    const hash = sha256Hex(bytes);
    const key = `shared/sha256/${hash.slice(0, 2)}/${hash}`;
    const sendParts = async (sessionParts: Array<{ number: number; url: string | null }>, partSize: number, body: Buffer) =>
      Promise.all(
        sessionParts.map(async (part) => {
          const response = await fetch(part.url ?? '', { method: 'PUT', body: body.subarray((part.number - 1) * partSize, part.number * partSize) });
          await response.arrayBuffer();
          return { number: part.number, etag: response.headers.get('etag') ?? '' };
        }),
      );

    const forged = await writer.sync.startUpload.mutate({ sha256: hash, size: bytes.length });
    const wrong = Buffer.from(bytes);
    wrong.writeUInt8(wrong.readUInt8(wrong.length - 1) ^ 0xff, wrong.length - 1);
    const forgedParts = await sendParts(forged.parts, forged.partSize, wrong);
    await expect(writer.sync.completeUpload.mutate({ sessionId: forged.sessionId ?? '', parts: forgedParts })).rejects.toThrow(/mismatch/i);
    expect(await s3.listKeys()).not.toContain(key);
    expect((await writer.sync.missingBlobs.mutate({ hashes: [hash] })).missing).toEqual([hash]);

    // Two honest uploads of the same blob at once: the first verified one stays; the second
    // is not completed over it.
    const first = await writer.sync.startUpload.mutate({ sha256: hash, size: bytes.length });
    const second = await writer.sync.startUpload.mutate({ sha256: hash, size: bytes.length });
    const firstParts = await sendParts(first.parts, first.partSize, bytes);
    const secondParts = await sendParts(second.parts, second.partSize, wrong);
    await writer.sync.completeUpload.mutate({ sessionId: first.sessionId ?? '', parts: firstParts });
    await writer.sync.completeUpload.mutate({ sessionId: second.sessionId ?? '', parts: secondParts });
    const served = Buffer.from(
      await (await fetch(`${shared.url}/blobs/sha256/${hash}`, { headers: { authorization: `Bearer ${tokens.read}` } })).arrayBuffer(),
    );
    expect(sha256Hex(served)).toBe(hash);
    expect((await writer.sync.missingBlobs.mutate({ hashes: [hash] })).missing).toEqual([]);
    // (The second multipart upload is aborted, which s3rver does not implement: it stays pending there.)

    // A completion that reached S3 but died before verifying: the retry verifies what is there.
    const other = randomBlob(6 * 1024 * 1024);
    const cut = await writer.sync.startUpload.mutate({ sha256: sha256Hex(other), size: other.length });
    const cutParts = await sendParts(cut.parts, cut.partSize, other);
    await completeInBucket(
      `shared/sha256/${sha256Hex(other).slice(0, 2)}/${sha256Hex(other)}`,
      new URL(cut.parts[0]?.url ?? '').searchParams.get('uploadId') ?? '',
      cutParts,
    );
    expect((await writer.sync.missingBlobs.mutate({ hashes: [sha256Hex(other)] })).missing).toEqual([sha256Hex(other)]); // not verified yet
    await writer.sync.completeUpload.mutate({ sessionId: cut.sessionId ?? '', parts: cutParts });
    expect((await writer.sync.missingBlobs.mutate({ hashes: [sha256Hex(other)] })).missing).toEqual([]);
  }, 60_000);

  it('refuses remotes on link-local/metadata addresses and servers that redirect', async () => {
    await expect(laptop.client.sync.addRemote.mutate({ name: 'metadata', url: 'http://169.254.169.254/latest', token: tokens.write })).rejects.toThrow(
      /169\.254\.169\.254/,
    );
    await expect(laptop.client.sync.addRemote.mutate({ name: 'linklocal', url: 'http://[fe80::1]:8080', token: tokens.write })).rejects.toThrow(/fe80::1/);
    await expect(laptop.client.sync.addRemote.mutate({ name: 'ftp', url: 'ftp://example.com', token: tokens.write })).rejects.toThrow(/http/);

    const redirector = await startRedirector('http://169.254.169.254/latest/meta-data/');
    try {
      await laptop.client.sync.addRemote.mutate({ name: 'redirecting', url: redirector.url, token: tokens.write });
      const push = await laptop.client.sync.push.mutate({ remote: 'redirecting', model: 'detector', ref: { version: 1 } });
      const failed = await waitForEntry(laptop.client, push.id, ['done', 'failed']);
      expect(failed).toMatchObject({ state: 'failed', error: expect.stringMatching(/redirect to http:\/\/169\.254\.169\.254/) });
      expect(redirector.hits()).toBeGreaterThan(0);
    } finally {
      await redirector.close();
    }
  }, 60_000);

  it('a wrong or revoked token fails the push with a clear reason instead of retrying forever', async () => {
    for (const [name, token] of [
      ['wrong', 'tyd_this-token-was-never-issued-0000'],
      ['revoked', tokens.revoked],
    ] as const) {
      await laptop.client.sync.addRemote.mutate({ name, url: shared.url, token });
      const push = await laptop.client.sync.push.mutate({ remote: name, model: 'detector', ref: { version: 1 } });
      expect(await waitForEntry(laptop.client, push.id, ['done', 'failed'])).toMatchObject({
        state: 'failed',
        error: expect.stringMatching(/refused the token/),
      });
    }
  }, 60_000);
});

const completeInBucket = async (key: string, uploadId: string, parts: Array<{ number: number; etag: string }>): Promise<void> => {
  const { CompleteMultipartUploadCommand, S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: s3.bucket,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.number, ETag: part.etag })) },
    }),
  );
};

const startRedirector = async (location: string): Promise<{ url: string; hits(): number; close(): Promise<void> }> => {
  let hits = 0;
  const server: Server = createServer((_request, response) => {
    hits++;
    response.writeHead(302, { location });
    response.end();
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
};
