import { startHttpProxy } from '@trainyard/test-services';

export interface BlobRecordingProxy {
  url: string;
  /** Hashes of the blobs sent through the proxy so far (`PUT /blobs/sha256/…`, and each blob named in a `POST /blob-batches` manifest), in order. */
  sentBlobs(): string[];
  /** Request body bytes sent to the blob routes so far. */
  sentBytes(): number;
  /** The most `PUT /blobs` requests of at least `bytes` (Content-Length) whose bodies were in flight at once. */
  mostPutsAtOnce(bytes: number): number;
  close(): Promise<void>;
}

/**
 * A pass-through proxy in front of a shared server that records which blobs a pusher sends it:
 * proof that a blob already there (a snapshot shared by two versions) is not sent again.
 * Blobs of 64 MiB and more (SMALL_BLOB_BYTES) go to S3 through presigned URLs and are not seen here.
 */
export const startBlobRecordingProxy = async (target: string): Promise<BlobRecordingProxy> => {
  const sent: string[] = [];
  let bytes = 0;
  const putsUnderWay = new Set<{ size: number }>();
  /** The sizes of the PUTs under way each time one started. */
  const moments: number[][] = [];
  const proxy = await startHttpProxy((incoming) => {
    const path = incoming.url ?? '/';
    const single = /^\/blobs\/sha256\/([0-9a-f]{64})$/.exec(path);
    if (incoming.method === 'PUT' && single?.[1]) {
      sent.push(single[1]);
      const put = { size: Number(incoming.headers['content-length'] ?? 0) };
      putsUnderWay.add(put);
      moments.push([...putsUnderWay].map((under) => under.size));
      incoming.once('close', () => putsUnderWay.delete(put));
    }
    const batch = incoming.method === 'POST' && path === '/blob-batches';
    let manifest = batch ? '' : undefined;
    incoming.on('data', (chunk: Buffer) => {
      if (single || batch) bytes += chunk.length;
      if (manifest === undefined) return;
      const newline = chunk.indexOf(10);
      manifest += chunk.subarray(0, newline === -1 ? chunk.length : newline).toString('utf8');
      if (newline !== -1) {
        for (const blob of (JSON.parse(manifest) as { blobs: Array<{ sha256: string }> }).blobs) sent.push(blob.sha256);
        manifest = undefined;
      }
    });
    return target;
  });
  return {
    ...proxy,
    sentBlobs: () => [...sent],
    sentBytes: () => bytes,
    mostPutsAtOnce: (atLeast) => Math.max(0, ...moments.map((sizes) => sizes.filter((size) => size >= atLeast).length)),
  };
};
