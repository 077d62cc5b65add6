import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { postgresUnavailableReason, runCli, type PostgresServer, type S3TestServer, startPostgresServer, startS3Server } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isFinishedJobStatus } from '@trainyard/contracts';
import { useLocalTestServer } from './test-support/local-test-server';
import { type SharedServer, startSharedServer } from './test-support/shared-server';
import { createServerToken, storedBlobLocation, waitForEntry } from './test-support/sync-fixtures';
import { trainDetectorModel } from './test-support/trained-model';
import { EXIT } from './cli/exit-codes';

const skip = postgresUnavailableReason();
// Grace 0: a blob nothing references is collected at once (the default keeps young blobs an hour).
const laptop = useLocalTestServer({ TRAINYARD_GC_GRACE_MINUTES: '0' });

let postgres: PostgresServer;
let s3: S3TestServer;
let shared: SharedServer;
let clients: { admin: TrainyardClient; write: TrainyardClient; read: TrainyardClient };

const blobServed = async (url: string, token: string, sha256: string): Promise<number> =>
  (await fetch(`${url}/blobs/sha256/${sha256}`, { headers: { authorization: `Bearer ${token}` } })).status;

describe.skipIf(skip)(`hard deletes: pairs, snapshots and versions, here and on a shared server${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let snapshot: { id: string; blobSha256: string };
  let jobId: string;
  let modelBlobs: string[];
  let databaseUrl: string;
  let writeToken: string;

  beforeAll(async () => {
    postgres = await startPostgresServer();
    s3 = await startS3Server();
    databaseUrl = await postgres.createDatabase('deletes');
    shared = await startSharedServer({ databaseUrl, s3: { endpoint: s3.endpoint, bucket: s3.bucket }, env: { TRAINYARD_GC_GRACE_MINUTES: '0' } });
    const token = async (scope: 'admin' | 'write' | 'read') =>
      createTrainyardClient({ url: shared.url, token: (await createServerToken(databaseUrl, scope, scope)).token });
    clients = { admin: await token('admin'), write: await token('write'), read: await token('read') };

    const trained = await trainDetectorModel(
      { url: laptop.server.url, token: laptop.server.token, client: laptop.client },
      { model: 'detector', pairs: 120, seed: 5 },
    );
    expect(trained.status).toBe('succeeded');
    jobId = trained.jobId;
    const version = await laptop.client.models.getVersion.query({ model: 'detector', ref: { version: 1 } });
    snapshot = await laptop.client.datasets.get.query({ id: version.datasetSnapshotId ?? '' });
    modelBlobs = (await laptop.client.artifacts.list.query({ modelVersionId: version.id })).items.map((a) => a.sha256);

    writeToken = (await createServerToken(databaseUrl, 'laptop', 'write')).token;
    await laptop.client.sync.addRemote.mutate({ name: 'team', url: shared.url, token: writeToken });
    const push = await laptop.client.sync.push.mutate({ remote: 'team', model: 'detector', ref: { version: 1 } });
    expect(await waitForEntry(laptop.client, push.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
  }, 300_000);
  afterAll(async () => {
    await shared?.stop();
    await s3?.stop();
    await postgres?.stop();
  });

  it('on a shared server only an admin token deletes, a snapshot only once no version uses it; GC then removes the objects from S3', async () => {
    // Where their bytes are: each blob its own object, or packs (small blobs pushed in a batch).
    const stored = await Promise.all([snapshot.blobSha256, ...modelBlobs].map(async (hash) => `shared/${(await storedBlobLocation(databaseUrl, hash)).key}`));
    const objects = [...new Set(stored)];
    expect(await s3.listKeys()).toEqual(expect.arrayContaining(objects));
    for (const client of [clients.write, clients.read]) {
      await expect(client.datasets.delete.mutate({ id: snapshot.id })).rejects.toThrow(/does not allow this; it needs admin/);
      await expect(client.models.deleteVersion.mutate({ model: 'detector', version: 1 })).rejects.toThrow(/does not allow this; it needs admin/);
    }
    await expect(clients.admin.datasets.delete.mutate({ id: snapshot.id })).rejects.toThrow(/is used by detector version 1; delete those first/);

    expect(await clients.admin.models.deleteVersion.mutate({ model: 'detector', version: 1 })).toMatchObject({
      deleted: true,
      artifactsDeleted: modelBlobs.length,
    });
    await expect(clients.admin.models.getVersion.query({ model: 'detector', ref: { version: 1 } })).rejects.toThrow(/has no version 1/);
    expect((await clients.admin.models.events.query({ model: 'detector' })).items.map((e) => e.type)).toContain('version.deleted');
    expect(await clients.admin.datasets.delete.mutate({ id: snapshot.id })).toEqual({ deleted: true, id: snapshot.id });
    expect((await clients.admin.datasets.list.query({})).items).toEqual([]);

    const report = await clients.admin.artifacts.gc.mutate({ dryRun: false });
    expect(report.unreferenced.map((blob) => blob.sha256).sort()).toEqual([snapshot.blobSha256, ...modelBlobs].sort());
    // Every object that held them is gone (a pack goes with its last blob).
    const keys = await s3.listKeys();
    for (const object of objects) expect(keys).not.toContain(object);

    // Pushed again (another remote name for the same server: a new outbox entry, the same
    // idempotency key), the version registers anew: its push receipt went with it.
    await laptop.client.sync.addRemote.mutate({ name: 'team-again', url: shared.url, token: writeToken });
    const again = await laptop.client.sync.push.mutate({ remote: 'team-again', model: 'detector', ref: { version: 1 } });
    expect(await waitForEntry(laptop.client, again.id, ['done', 'failed'])).toMatchObject({ state: 'done', remoteVersion: 2 });

    // Here too: a pulled version deleted is pulled again, its remote link gone with it.
    const pull = async () => {
      const entry = await laptop.client.sync.pull.mutate({ remote: 'team', model: 'detector', ref: { version: 2 } });
      await waitForEntry(laptop.client, entry.id, ['done', 'failed']);
      return laptop.client.sync.get.query({ id: entry.id });
    };
    const pulled = await pull();
    expect(pulled).toMatchObject({ state: 'done', localVersion: expect.any(Number) });
    await laptop.client.models.deleteVersion.mutate({ model: 'detector', version: pulled.localVersion ?? 0 });
    const pulledAgain = await pull();
    expect(pulledAgain).toMatchObject({ state: 'done', localVersion: (pulled.localVersion ?? 0) + 1 });
    await laptop.client.models.deleteVersion.mutate({ model: 'detector', version: pulledAgain.localVersion ?? 0 });
  }, 120_000);

  it('here: pairs by id; a version only without aliases, active selection or children; a snapshot only once no job or version uses it; GC collects their blobs', async () => {
    const { client } = laptop;
    const pairs = (await client.trainingData.list.query({ limit: 2 })).items.map((pair) => pair.id);
    expect(await client.trainingData.deletePairs.mutate({ ids: pairs })).toEqual({ deleted: 2, notFound: [] });
    expect(await client.trainingData.deletePairs.mutate({ ids: pairs })).toEqual({ deleted: 0, notFound: pairs });
    await expect(client.trainingData.deletePairs.mutate({ ids: Array.from({ length: 1_001 }, () => pairs[0] as string) })).rejects.toThrow();

    await client.models.setAlias.mutate({ model: 'detector', alias: 'champion', version: 1 });
    await client.models.setActive.mutate({ model: 'detector', version: 1 });
    const child = await client.models.createVersion.mutate({ model: 'detector', parentVersion: { model: 'detector', version: 1 } });
    await expect(client.models.deleteVersion.mutate({ model: 'detector', version: 1 })).rejects.toThrow(
      new RegExp(
        `detector version 1 is still used: alias champion, the model’s active version, detector version ${child.version} \\(its child\\); remove those first`,
      ),
    );
    await expect(client.datasets.delete.mutate({ id: snapshot.id })).rejects.toThrow(
      new RegExp(`is used by training job detector-job \\(${jobId}, succeeded\\), detector version 1`),
    );

    // A job that starts from the version (fine-tuning it) keeps it too, whatever its state.
    const fineTune = await client.jobs.create.mutate({
      name: 'fine-tune',
      datasetSnapshotId: snapshot.id,
      trainer: { kind: 'builtin', name: 'text-detector' },
      hyperparameters: { epochs: 1, hashBits: 12 },
      parentVersion: { model: 'detector', version: 1 },
    });
    await expect(client.models.deleteVersion.mutate({ model: 'detector', version: 1 })).rejects.toThrow(
      new RegExp(`training job fine-tune \\(${fineTune.id}, \\w+\\) starts from it`),
    );
    await vi.waitFor(
      async () => {
        const { status } = await client.jobs.get.query({ id: fineTune.id });
        if (!isFinishedJobStatus(status)) await client.jobs.cancel.mutate({ id: fineTune.id }).catch(() => undefined);
        expect(isFinishedJobStatus((await client.jobs.get.query({ id: fineTune.id })).status)).toBe(true);
      },
      { timeout: 60_000, interval: 200 },
    );
    await client.jobs.delete.mutate({ id: fineTune.id });

    await client.models.removeAlias.mutate({ model: 'detector', alias: 'champion' });
    await client.models.setActive.mutate({ model: 'detector', version: null });
    await client.models.deleteVersion.mutate({ model: 'detector', version: child.version });
    expect(await client.models.deleteVersion.mutate({ model: 'detector', version: 1 })).toMatchObject({ deleted: true, artifactsDeleted: modelBlobs.length });
    // The job that trained on it is left; once it is deleted too, so can the snapshot be.
    await expect(client.datasets.delete.mutate({ id: snapshot.id })).rejects.toThrow(/is used by training job detector-job/);
    await client.jobs.delete.mutate({ id: jobId });
    const materialised = join(laptop.dataDir, 'snapshots', snapshot.id);
    expect(existsSync(materialised)).toBe(true);
    expect(await client.datasets.delete.mutate({ id: snapshot.id })).toEqual({ deleted: true, id: snapshot.id });
    expect(existsSync(materialised)).toBe(false);
    await expect(client.datasets.get.query({ id: snapshot.id })).rejects.toThrow(/not found/i);

    expect(await blobServed(laptop.server.url, laptop.server.token, snapshot.blobSha256)).toBe(200);
    const report = await client.artifacts.gc.mutate({ dryRun: false });
    expect(report.unreferenced.map((blob) => blob.sha256)).toEqual(expect.arrayContaining([snapshot.blobSha256, ...modelBlobs]));
    expect(await blobServed(laptop.server.url, laptop.server.token, snapshot.blobSha256)).toBe(404);
    for (const hash of modelBlobs) expect(await blobServed(laptop.server.url, laptop.server.token, hash)).toBe(404);
  }, 120_000);

  it('the CLI: data delete, datasets delete (by name), models delete-version', async () => {
    const cli = async (args: string[]) => {
      const run = runCli(args, { TRAINYARD_DATA_DIR: laptop.dataDir });
      return { code: await run.exited, output: run.output() };
    };
    const [pair] = (await laptop.client.trainingData.list.query({ limit: 1 })).items;
    expect(await cli(['data', 'delete', pair?.id ?? ''])).toMatchObject({ code: EXIT.OK, output: expect.stringContaining('Deleted 1 pair(s)') });
    const made = await laptop.client.datasets.createSnapshot.mutate({ name: 'to-delete' });
    expect(await cli(['datasets', 'delete', 'to-delete'])).toMatchObject({ code: EXIT.OK, output: expect.stringContaining(`Deleted snapshot ${made.id}`) });
    const version = await laptop.client.models.createVersion.mutate({ model: 'detector' });
    expect(await cli(['models', 'delete-version', `detector@${version.version}`])).toMatchObject({
      code: EXIT.OK,
      output: expect.stringContaining(`Deleted detector version ${version.version}`),
    });
    expect((await cli(['models', 'delete-version', 'detector@latest'])).code).toBe(EXIT.USAGE);
    // A deleted version's number is not handed out again.
    expect((await laptop.client.models.createVersion.mutate({ model: 'detector' })).version).toBe(version.version + 1);
  }, 120_000);
});
