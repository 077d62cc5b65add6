import type { IndexedBlobStore } from '@trainyard/artifacts';
import type { DatasetSnapshotManifest } from '@trainyard/contracts';
import { DomainError, notFound } from '@trainyard/core';
import type { ReceivedSnapshots, SnapshotWithData } from './received-snapshots.port';

/** The refusal of a server that does not take dataset data (TRAINYARD_SYNC_ACCEPT_DATASETS=off). */
export const datasetsRefused = (): DomainError =>
  new DomainError('FAILED_PRECONDITION', 'This server does not take dataset snapshot data (TRAINYARD_SYNC_ACCEPT_DATASETS=off)');

/**
 * Refuses a snapshot manifest whose data size is not the size of the blob stored here under its
 * hash: every puller would be told that size (and split a batch read by it).
 */
export const assertSnapshotBlobSize = async (blobs: Pick<IndexedBlobStore, 'sizes'>, snapshot: SnapshotWithData): Promise<void> => {
  const stored = (await blobs.sizes([snapshot.blobSha256])).get(snapshot.blobSha256);
  if (stored !== undefined && stored !== snapshot.blobSize) {
    throw new DomainError(
      'INVALID_ARGUMENT',
      `Dataset snapshot ${snapshot.id}: its data blob is ${stored} bytes here, not the ${snapshot.blobSize} its manifest says`,
      { id: snapshot.id, stored, claimed: snapshot.blobSize },
    );
  }
};

/**
 * Dataset snapshots crossing a shared server on their own (`trainyard push-dataset` /
 * `pull-dataset`): registered once their data blob is stored and verified, described for a puller.
 */
export const createReceivedSnapshotsApi = (deps: {
  snapshots: ReceivedSnapshots;
  acceptDatasets: boolean;
  missingBlobs(hashes: readonly string[]): Promise<string[]>;
  blobs: Pick<IndexedBlobStore, 'sizes'>;
}) => ({
  /** Registers a pushed snapshot: its blob must be here (verified on upload); same id and data again creates nothing. */
  async receiveSnapshot(manifest: SnapshotWithData, origin: string): Promise<{ id: string; created: boolean }> {
    if (!deps.acceptDatasets) throw datasetsRefused();
    const absent = await deps.missingBlobs([manifest.blobSha256]);
    if (absent.length > 0) throw new DomainError('FAILED_PRECONDITION', `Upload these blobs first: ${absent.join(', ')}`, { missing: absent });
    await assertSnapshotBlobSize(deps.blobs, manifest);
    const { created } = await deps.snapshots.importAlone(manifest, { pushedFrom: { registry: origin } });
    return { id: manifest.id, created };
  },

  /** A snapshot held here, with its data blob's size, for a puller. */
  async describeSnapshot(id: string): Promise<DatasetSnapshotManifest & { blobSize: number }> {
    const manifest = await deps.snapshots.manifestOf(id);
    if (!manifest || manifest.blobSize === undefined) throw notFound('Dataset snapshot', { id });
    return { ...manifest, blobSize: manifest.blobSize };
  },
});
