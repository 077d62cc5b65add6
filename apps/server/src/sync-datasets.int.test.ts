import { randomUUID } from 'node:crypto';
import { sha256Hex } from '@trainyard/core';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { postgresUnavailableReason, runCli } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BlobRecordingProxy, startBlobRecordingProxy } from './test-support/blob-recording-proxy';
import { useLocalTestServer } from './test-support/local-test-server';
import { type SharedServer, startSharedServer } from './test-support/shared-server';
import { createServerToken, createVersionWithFiles, flipByteInBucket, randomBlob, storedBlobLocation, waitForEntry } from './test-support/sync-fixtures';
import { FAST_SYNC_RETRY, startTeamRegistry, type TeamRegistry } from './test-support/team-registry';
import { trainDetectorModel, waitForJob } from './test-support/trained-model';
import { EXIT } from './cli/exit-codes';

const skip = postgresUnavailableReason();
const laptop = useLocalTestServer(FAST_SYNC_RETRY);
/** A third data directory: pulls what the laptop pushed. */
const teammate = useLocalTestServer(FAST_SYNC_RETRY);
/** A fourth: pulls a version after its withheld data was pushed alone. */
const newcomer = useLocalTestServer(FAST_SYNC_RETRY);

let registry: TeamRegistry;
let shared: SharedServer;
let sharedDatabaseUrl: string;
/** A shared server with TRAINYARD_SYNC_ACCEPT_DATASETS=off. */
let refusing: SharedServer;
let proxy: BlobRecordingProxy;
let admin: TrainyardClient;
let refusingAdmin: TrainyardClient;
let refusingToken: string;

const serverOf = (local: typeof laptop) => ({ url: local.server.url, token: local.server.token, client: local.client });

/** One more training job on an existing snapshot, as a new version of `model`. */
const trainOn = async (client: TrainyardClient, snapshotId: string, model: string, hashBits: number): Promise<void> => {
  const job = await client.jobs.create.mutate({
    name: `${model}-${hashBits}`,
    datasetSnapshotId: snapshotId,
    trainer: { kind: 'builtin', name: 'text-detector' },
    hyperparameters: { epochs: 1, hashBits },
    targetModel: model,
  });
  expect((await waitForJob(client, job.id)).status).toBe('succeeded');
};

const push = async (remote: string, model: string, version: number, includeDataset = true) => {
  const entry = await laptop.client.sync.push.mutate({ remote, model, ref: { version }, includeDataset });
  return waitForEntry(laptop.client, entry.id, ['done', 'failed']);
};
const pull = async (remote: string, model: string, version: number) => {
  const entry = await teammate.client.sync.pull.mutate({ remote, model, ref: { version } });
  return waitForEntry(teammate.client, entry.id, ['done', 'failed']);
};
const snapshotOfVersion = async (client: TrainyardClient, model: string, version: number) => {
  const { datasetSnapshotId } = await client.models.getVersion.query({ model, ref: { version } });
  if (!datasetSnapshotId) throw new Error(`${model} v${version} has no snapshot`);
  return client.datasets.get.query({ id: datasetSnapshotId });
};

describe.skipIf(skip)(`datasets travel with versions (PostgreSQL + S3)${skip ? ` — skipped: ${skip}` : ''}`, () => {
  beforeAll(async () => {
    registry = await startTeamRegistry('datasets');
    ({ shared, databaseUrl: sharedDatabaseUrl } = registry);
    const databaseUrl = sharedDatabaseUrl;
    const refusingUrl = await registry.postgres.createDatabase('refusing');
    refusing = await startSharedServer({ databaseUrl: refusingUrl, env: { TRAINYARD_SYNC_ACCEPT_DATASETS: 'off' } });
    proxy = await startBlobRecordingProxy(shared.url);
    admin = createTrainyardClient({ url: shared.url, token: (await createServerToken(databaseUrl, 'admin', 'admin')).token });
    refusingToken = (await createServerToken(refusingUrl, 'admin', 'admin')).token;
    refusingAdmin = createTrainyardClient({ url: refusing.url, token: refusingToken });
    const write = (await createServerToken(databaseUrl, 'laptop', 'write')).token;
    await laptop.client.sync.addRemote.mutate({ name: 'team', url: proxy.url, token: write });
    await laptop.client.sync.addRemote.mutate({ name: 'strict', url: refusing.url, token: (await createServerToken(refusingUrl, 'laptop', 'write')).token });
    await teammate.client.sync.addRemote.mutate({ name: 'team', url: shared.url, token: (await createServerToken(databaseUrl, 'teammate', 'read')).token });
    await teammate.client.sync.addRemote.mutate({ name: 'strict', url: refusing.url, token: (await createServerToken(refusingUrl, 'teammate', 'read')).token });

    // detector v1 and v2 train on one snapshot; `other` on a second one.
    expect((await trainDetectorModel(serverOf(laptop), { model: 'detector', pairs: 300, seed: 1 })).status).toBe('succeeded');
    const snapshot = await snapshotOfVersion(laptop.client, 'detector', 1);
    await trainOn(laptop.client, snapshot.id, 'detector', 10);
    expect((await trainDetectorModel(serverOf(laptop), { model: 'other', pairs: 100, seed: 2 })).status).toBe('succeeded');
  }, 300_000);
  afterAll(async () => {
    await proxy?.close();
    await refusing?.stop();
    await registry?.stop();
  });

  it('a push sends the snapshot data with the version; a second version on the same snapshot does not send it again', async () => {
    const snapshot = await snapshotOfVersion(laptop.client, 'detector', 1);
    expect(await push('team', 'detector', 1)).toMatchObject({ state: 'done', remoteVersion: 1 });
    expect(proxy.sentBlobs().filter((hash) => hash === snapshot.blobSha256)).toHaveLength(1);

    const onServer = await admin.models.getVersion.query({ model: 'detector', ref: { version: 1 } });
    expect(onServer.datasetSnapshotId).toBe(snapshot.id);
    expect(onServer.provenance).toMatchObject({ dataset: { snapshotId: snapshot.id, data: 'included', withheldBy: null } });
    const held = await admin.datasets.list.query({});
    expect(held.items.map((s) => [s.id, s.blobSha256, s.blobSize, s.totalCount])).toEqual([
      [snapshot.id, snapshot.blobSha256, snapshot.blobSize, snapshot.totalCount],
    ]);
    expect(held.items[0]?.provenance).toMatchObject({ pushedFrom: { model: 'detector', version: 1 } });

    const before = proxy.sentBlobs().length;
    expect(await push('team', 'detector', 2)).toMatchObject({ state: 'done', remoteVersion: 2 });
    const second = proxy.sentBlobs().slice(before);
    expect(second.length).toBeGreaterThan(0); // its model files differ (hashBits 10)
    expect(second).not.toContain(snapshot.blobSha256);
    expect((await admin.models.getVersion.query({ model: 'detector', ref: { version: 2 } })).provenance).toMatchObject({
      dataset: { snapshotId: snapshot.id, data: 'included' },
    });
    expect((await admin.datasets.list.query({})).items).toHaveLength(1);
  }, 120_000);

  it('a pull on a third data directory registers the snapshot with the same id and content hash; pulling a second version on it changes nothing', async () => {
    const snapshot = await snapshotOfVersion(laptop.client, 'detector', 1);
    expect(await pull('team', 'detector', 1)).toMatchObject({ state: 'done' });
    const pulled = await teammate.client.datasets.get.query({ id: snapshot.id });
    expect(pulled).toMatchObject({
      id: snapshot.id,
      name: snapshot.name,
      blobSha256: snapshot.blobSha256,
      blobSize: snapshot.blobSize,
      totalCount: snapshot.totalCount,
      trainCount: snapshot.trainCount,
      seed: snapshot.seed,
      provenance: { pulledFrom: { remote: 'team', snapshotId: snapshot.id } },
    });
    const local = await teammate.client.models.getVersion.query({ model: 'detector', ref: { version: 1 } });
    expect(local.datasetSnapshotId).toBe(snapshot.id);
    expect(local.provenance).toMatchObject({ dataset: { snapshotId: snapshot.id, data: 'included' } });

    expect(await pull('team', 'detector', 2)).toMatchObject({ state: 'done' });
    expect((await teammate.client.models.getVersion.query({ model: 'detector', ref: { version: 2 } })).datasetSnapshotId).toBe(snapshot.id);
    expect((await teammate.client.datasets.list.query({})).items).toEqual([pulled]);
  }, 120_000);

  it('--no-dataset sends the manifest only: the shared server records the data as withheld by the pusher, and a pull brings no snapshot', async () => {
    const snapshot = await snapshotOfVersion(laptop.client, 'other', 1);
    expect(await push('team', 'other', 1, false)).toMatchObject({ state: 'done' });
    expect(proxy.sentBlobs()).not.toContain(snapshot.blobSha256);
    const onServer = await admin.models.getVersion.query({ model: 'other', ref: { version: 1 } });
    expect(onServer.datasetSnapshotId).toBeNull();
    expect(onServer.provenance).toMatchObject({
      dataset: { snapshotId: snapshot.id, data: 'withheld', withheldBy: 'pusher' },
      lineage: { datasetSnapshot: { id: snapshot.id } },
    });
    expect((await admin.datasets.list.query({})).items.map((s) => s.id)).not.toContain(snapshot.id);

    expect(await pull('team', 'other', 1)).toMatchObject({ state: 'done' });
    const local = await teammate.client.models.getVersion.query({ model: 'other', ref: { version: 1 } });
    expect(local.datasetSnapshotId).toBeNull();
    expect(local.provenance).toMatchObject({ dataset: { snapshotId: snapshot.id, data: 'withheld' } });
    await expect(teammate.client.datasets.get.query({ id: snapshot.id })).rejects.toThrow(/not found/i);
  }, 120_000);

  it('a shared server with TRAINYARD_SYNC_ACCEPT_DATASETS=off withholds the data and records that it did', async () => {
    const snapshot = await snapshotOfVersion(laptop.client, 'detector', 1);
    expect((await refusingAdmin.sync.missingBlobs.mutate({ hashes: [snapshot.blobSha256] })).acceptsDatasets).toBe(false);
    expect(await push('strict', 'detector', 1)).toMatchObject({ state: 'done' });
    const onServer = await refusingAdmin.models.getVersion.query({ model: 'detector', ref: { version: 1 } });
    expect(onServer.datasetSnapshotId).toBeNull();
    expect(onServer.provenance).toMatchObject({ dataset: { snapshotId: snapshot.id, data: 'withheld', withheldBy: 'server' } });
    expect((await refusingAdmin.datasets.list.query({})).items).toEqual([]);
    expect((await refusingAdmin.sync.missingBlobs.mutate({ hashes: [snapshot.blobSha256] })).missing).toEqual([snapshot.blobSha256]);
  }, 120_000);

  it('a snapshot is pushed and pulled alone (write to push, read to pull) and listed on the shared server; repeating either changes nothing', async () => {
    const snapshot = await snapshotOfVersion(laptop.client, 'other', 1); // withheld when its version was pushed
    const pushed = await laptop.client.sync.pushDataset.mutate({ remote: 'team', snapshotId: snapshot.id });
    expect(pushed).toEqual({
      snapshotId: snapshot.id,
      blobSha256: snapshot.blobSha256,
      blobSize: snapshot.blobSize,
      bytesSent: snapshot.blobSize,
      created: true,
    });
    expect(proxy.sentBlobs().filter((hash) => hash === snapshot.blobSha256)).toHaveLength(1);
    expect(await laptop.client.sync.pushDataset.mutate({ remote: 'team', snapshotId: snapshot.id })).toMatchObject({ bytesSent: 0, created: false });
    expect((await admin.datasets.get.query({ id: snapshot.id })).blobSha256).toBe(snapshot.blobSha256);
    // `other` v1 was pushed with its data withheld; with the data here now, a pull of it brings
    // the snapshot (the version's record still says what its push did).
    expect(await admin.sync.describeVersion.query({ model: 'other', ref: { version: 1 } })).toMatchObject({
      datasetData: 'included',
      lineage: { datasetSnapshot: { id: snapshot.id, blobSha256: snapshot.blobSha256, blobSize: snapshot.blobSize } },
    });
    expect((await admin.models.getVersion.query({ model: 'other', ref: { version: 1 } })).provenance).toMatchObject({
      dataset: { data: 'withheld', withheldBy: 'pusher' },
    });
    await newcomer.client.sync.addRemote.mutate({
      name: 'team',
      url: shared.url,
      token: (await createServerToken(sharedDatabaseUrl, 'newcomer', 'read')).token,
    });
    const entry = await newcomer.client.sync.pull.mutate({ remote: 'team', model: 'other', ref: { version: 1 } });
    expect(await waitForEntry(newcomer.client, entry.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    expect(await newcomer.client.models.getVersion.query({ model: 'other', ref: { version: 1 } })).toMatchObject({
      datasetSnapshotId: snapshot.id,
      provenance: { dataset: { snapshotId: snapshot.id, data: 'included' } },
    });
    expect((await newcomer.client.datasets.get.query({ id: snapshot.id })).blobSha256).toBe(snapshot.blobSha256);

    const listed = await teammate.client.sync.remoteSnapshots.query({ remote: 'team' });
    expect(listed.items.map((s) => s.id).sort()).toEqual([snapshot.id, (await snapshotOfVersion(laptop.client, 'detector', 1)).id].sort());
    // The teammate's token reads only.
    await expect(
      teammate.client.sync.pushDataset.mutate({ remote: 'team', snapshotId: (await snapshotOfVersion(teammate.client, 'detector', 1)).id }),
    ).rejects.toThrow(/scope \(read\) does not allow this; it needs write/);

    const pulled = await teammate.client.sync.pullDataset.mutate({ remote: 'team', snapshotId: snapshot.id });
    expect(pulled).toEqual({ snapshotId: snapshot.id, blobSha256: snapshot.blobSha256, blobSize: snapshot.blobSize, created: true });
    expect(await teammate.client.datasets.get.query({ id: snapshot.id })).toMatchObject({
      blobSha256: snapshot.blobSha256,
      totalCount: snapshot.totalCount,
      provenance: { pulledFrom: { remote: 'team', snapshotId: snapshot.id } },
    });
    expect(await teammate.client.sync.pullDataset.mutate({ remote: 'team', snapshotId: snapshot.id })).toMatchObject({ created: false });

    await expect(laptop.client.sync.pushDataset.mutate({ remote: 'strict', snapshotId: snapshot.id })).rejects.toThrow(/does not take dataset snapshot data/);
    await expect(teammate.client.sync.pullDataset.mutate({ remote: 'strict', snapshotId: snapshot.id })).rejects.toThrow(/not found/i);
  }, 120_000);

  it('the CLI: push --no-dataset, models show says what was withheld, push-dataset by name, datasets list --remote, pull-dataset', async () => {
    const cli = async (dataDir: string, args: string[]) => {
      const run = runCli(args, { TRAINYARD_DATA_DIR: dataDir });
      return { code: await run.exited, output: run.output() };
    };
    const withheld = await cli(laptop.dataDir, ['push', 'detector@2', '--remote', 'strict', '--no-dataset']);
    expect(withheld).toMatchObject({ code: EXIT.OK, output: expect.stringMatching(/Done: detector v2 → strict v2/) });
    expect((await refusingAdmin.models.getVersion.query({ model: 'detector', ref: { version: 2 } })).provenance).toMatchObject({
      dataset: { data: 'withheld', withheldBy: 'pusher' },
    });
    const shown = await cli(laptop.dataDir, ['models', 'show', 'detector@1', '--url', refusing.url, '--token', refusingToken]);
    expect(shown.output).toMatch(/Dataset snapshot [0-9a-f-]{36}: data withheld by the shared server/);
    expect(shown.output).toMatch(/^Artifacts: \d+ \(trainyard artifacts list --model detector@1\)$/m);

    expect((await trainDetectorModel(serverOf(laptop), { model: 'cli-data', pairs: 20, seed: 4 })).status).toBe('succeeded');
    const snapshot = await snapshotOfVersion(laptop.client, 'cli-data', 1);
    const pushed = await cli(laptop.dataDir, ['push-dataset', 'cli-data', '--remote', 'team']);
    expect(pushed).toMatchObject({ code: EXIT.OK, output: expect.stringContaining(`Pushed: snapshot ${snapshot.id} → team`) });
    const listed = await cli(teammate.dataDir, ['datasets', 'list', '--remote', 'team']);
    expect(listed.output).toContain(snapshot.id);
    const pulled = await cli(teammate.dataDir, ['pull-dataset', snapshot.id, '--remote', 'team']);
    expect(pulled).toMatchObject({ code: EXIT.OK, output: expect.stringContaining(`Pulled: snapshot ${snapshot.id}`) });
    expect((await cli(teammate.dataDir, ['pull-dataset', snapshot.id, '--remote', 'team'])).output).toContain('Already here');
    expect((await cli(laptop.dataDir, ['push-dataset', 'no-such-snapshot', '--remote', 'team'])).code).toBe(EXIT.NOT_FOUND);
  }, 180_000);

  it('a pull of a version whose snapshot data was tampered with on the shared server’s S3 is refused; nothing is registered', async () => {
    expect((await trainDetectorModel(serverOf(laptop), { model: 'tampered', pairs: 50, seed: 3 })).status).toBe('succeeded');
    const snapshot = await snapshotOfVersion(laptop.client, 'tampered', 1);
    expect(await push('team', 'tampered', 1)).toMatchObject({ state: 'done' });
    const location = await storedBlobLocation(sharedDatabaseUrl, snapshot.blobSha256);
    await flipByteInBucket(registry.s3, `shared/${location.key}`, location.offset + 10);

    const failed = await pull('team', 'tampered', 1);
    expect(failed).toMatchObject({ state: 'failed', error: expect.stringMatching(/corrupt|hash mismatch/i) });
    await expect(teammate.client.datasets.get.query({ id: snapshot.id })).rejects.toThrow(/not found/i);
    await expect(teammate.client.models.get.query({ model: 'tampered' })).rejects.toThrow(/not found/i);
  }, 180_000);

  it('blobs under 64 MiB go through the shared server (PUT /blobs, hashed as stored), those of 16 MiB and more two at a time', async () => {
    const MiB = 1024 * 1024;
    const files = [17, 18, 19, 20].map((size, index) => ({ name: `shard-${index}.bin`, bytes: randomBlob(size * MiB) }));
    const version = await createVersionWithFiles(laptop.server, laptop.client, 'shards', files);
    expect(await push('team', 'shards', version)).toMatchObject({ state: 'done' });
    const sent = proxy.sentBlobs();
    for (const file of files) expect(sent).toContain(sha256Hex(file.bytes));
    expect(proxy.mostPutsAtOnce(16 * MiB)).toBe(2);
    const served = await fetch(`${shared.url}/blobs/sha256/${sha256Hex(files[3]?.bytes ?? Buffer.alloc(0))}`, {
      headers: { authorization: `Bearer ${(await createServerToken(sharedDatabaseUrl, 'reader', 'read')).token}` },
    });
    expect(sha256Hex(Buffer.from(await served.arrayBuffer()))).toBe(sha256Hex(files[3]?.bytes ?? Buffer.alloc(0)));
  }, 120_000);

  it('a snapshot manifest whose data size is not the size of the blob stored under its hash is refused', async () => {
    const held = await admin.sync.describeSnapshot.query({ id: (await snapshotOfVersion(laptop.client, 'detector', 1)).id });
    const { id: _id, ...rest } = held;
    await expect(
      admin.sync.receiveSnapshot.mutate({ manifest: { ...rest, id: randomUUID(), name: 'liar', blobSize: held.blobSize + 1 }, origin: 'elsewhere' }),
    ).rejects.toThrow(/bytes here, not the/);
  });
});
