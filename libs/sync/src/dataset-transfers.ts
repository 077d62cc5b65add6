import type { BlobStore, IndexedBlobStore } from '@trainyard/artifacts';
import { DomainError, notFound } from '@trainyard/core';
import { assertNoSnapshotConflict, pullBlobs } from './pull-transfer';
import { pushBlobs } from './push-transfer';
import type { RemoteServer } from './remote-server.port';
import type { RemoteRecord } from './remotes';
import type { LocalSnapshots } from './version-bundle';

/**
 * A snapshot pushed alone (`trainyard push-dataset`): its data blob if the server lacks it
 * (verified there, as every blob), then its registration under the same id and hash. Run at
 * once, not through the outbox: a repeated push sends nothing and creates nothing.
 */
export const pushDataset = async (
  deps: { blobs: BlobStore; snapshots: LocalSnapshots; origin: string },
  remote: RemoteServer,
  snapshotId: string,
): Promise<{ snapshotId: string; blobSha256: string; blobSize: number; bytesSent: number; created: boolean }> => {
  const manifest = await deps.snapshots.manifestOf(snapshotId);
  if (!manifest || manifest.blobSize === undefined) throw notFound('Dataset snapshot', { id: snapshotId });
  const blob = { sha256: manifest.blobSha256, size: manifest.blobSize };
  const pushed = await pushBlobs({ remote, blobs: deps.blobs, progress: {}, report: async () => undefined }, [], blob);
  if (!pushed.acceptsDatasets) {
    throw new DomainError(
      'FAILED_PRECONDITION',
      'The shared server does not take dataset snapshot data (TRAINYARD_SYNC_ACCEPT_DATASETS=off, or an older server)',
    );
  }
  const { created } = await remote.receiveSnapshot({ ...manifest, blobSize: manifest.blobSize }, deps.origin);
  return { snapshotId, blobSha256: blob.sha256, blobSize: blob.size, bytesSent: pushed.uploaded > 0 ? blob.size : 0, created };
};

/**
 * A snapshot pulled alone (`trainyard pull-dataset`): its data blob verified as it is stored,
 * then registered here under the same id and hash with `provenance.pulledFrom`. Already here
 * with the same hash: nothing changes; the same id with another hash: CONFLICT, before a byte
 * is downloaded.
 */
export const pullDataset = async (
  deps: { blobs: IndexedBlobStore; snapshots: LocalSnapshots },
  remote: RemoteServer,
  remoteRow: RemoteRecord,
  snapshotId: string,
): Promise<{ snapshotId: string; blobSha256: string; blobSize: number; created: boolean }> => {
  const manifest = await remote.describeSnapshot(snapshotId);
  // The server answers for the id asked; a different one would be registered under a name never asked for.
  if (manifest.id !== snapshotId) throw new DomainError('INTEGRITY', `The shared server described snapshot ${manifest.id} when asked for ${snapshotId}`);
  await assertNoSnapshotConflict(deps.snapshots, manifest);
  // A blob already here (indexed and in the store) is not downloaded again.
  await (
    await pullBlobs({ blobs: deps.blobs, remote, report: async () => undefined }, [{ sha256: manifest.blobSha256, size: manifest.blobSize }], undefined)
  ).record();
  const { created } = await deps.snapshots.importAlone(manifest, { pulledFrom: { remote: remoteRow.name, url: remoteRow.url, snapshotId } });
  return { snapshotId, blobSha256: manifest.blobSha256, blobSize: manifest.blobSize, created };
};
