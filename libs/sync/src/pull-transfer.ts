import { Transform } from 'node:stream';
import type { ArtifactService, BlobStore } from '@trainyard/artifacts';
import type { VersionRef } from '@trainyard/contracts';
import { importBundledVersion, type ModelRegistryService, type ModelVersionService } from '@trainyard/registry';
import pLimit from 'p-limit';
import type { RemoteServer } from './remote-server.port';
import type { RemoteRecord } from './remotes';
import type { VersionLinks } from './version-links';

export interface PullDeps {
  blobs: BlobStore;
  models: ModelRegistryService;
  versions: ModelVersionService;
  artifacts: Pick<ArtifactService, 'insertForVersion'>;
  links: VersionLinks;
  remote: RemoteServer;
  remoteRow: RemoteRecord;
  report(bytes: number, total?: number): Promise<void>;
}

const counting = (report: (bytes: number) => void): Transform =>
  new Transform({
    transform(chunk: Buffer, _encoding, done) {
      report(chunk.length);
      done(null, chunk);
    },
  });

/**
 * Downloads a shared server's version into this machine: every blob is verified against its hash
 * as it is stored (a tampered blob is refused), then the version is registered locally with
 * its origin; the local↔remote link makes a repeated pull a no-op.
 */
export const pullVersion = async (
  deps: PullDeps,
  model: string,
  ref: VersionRef,
  actor: string,
): Promise<{ localVersion: number; remoteVersion: number; created: boolean }> => {
  const bundle = await deps.remote.describeVersion(model, ref);
  const remoteVersion = bundle.version.version;
  const linked = async () => {
    const localVersionId = await deps.links.localVersionOf(deps.remoteRow.id, bundle.model.name, remoteVersion);
    if (!localVersionId) return undefined;
    const [local] = await deps.versions.numbersOf([localVersionId]);
    return local ? { localVersion: local.version, remoteVersion, created: false } : undefined;
  };
  const existing = await linked();
  if (existing) return existing;

  const total = bundle.artifacts.reduce((sum, artifact) => sum + artifact.size, 0);
  await deps.report(0, total);
  const limit = pLimit(4);
  await Promise.all(
    [...new Map(bundle.artifacts.map((a) => [a.sha256, a])).values()].map((artifact) =>
      limit(async () => {
        if (await deps.blobs.stat(artifact.sha256)) return deps.report(artifact.size);
        const source = await deps.remote.downloadBlob(artifact.sha256);
        let pending = 0;
        const meter = counting((bytes) => {
          pending += bytes;
        });
        source.on('error', (error) => meter.destroy(error));
        // The store may not read `meter` at once (it checks the index first): a server that
        // drops the connection then must fail this pull, not crash the process. put() still
        // fails: reading a destroyed stream rejects.
        meter.on('error', () => undefined);
        const timer = setInterval(() => {
          const bytes = pending;
          pending = 0;
          void deps.report(bytes);
        }, 250);
        try {
          await deps.blobs.put(source.pipe(meter), { expectedSha256: artifact.sha256 });
        } finally {
          clearInterval(timer);
          await deps.report(pending);
        }
      }),
    ),
  );

  try {
    const created = await importBundledVersion(deps, bundle, actor, {
      provenance: {
        pulledFrom: { remote: deps.remoteRow.name, url: deps.remoteRow.url, model: bundle.model.name, version: remoteVersion, origin: bundle.origin },
        lineage: bundle.lineage,
        validation: bundle.version.validation ?? null,
      },
      async inTransaction(tx, versionId) {
        await deps.artifacts.insertForVersion(tx, versionId, bundle.artifacts);
        await deps.links.recordPull(tx, { remoteId: deps.remoteRow.id, localVersionId: versionId, remoteModel: bundle.model.name, remoteVersion });
      },
    });
    return { localVersion: created.version, remoteVersion, created: true };
  } catch (error) {
    const winner = await linked();
    if (winner) return winner;
    throw error;
  }
};
