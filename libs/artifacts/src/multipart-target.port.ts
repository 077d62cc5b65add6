import type { Readable } from 'node:stream';

export interface UploadSessionRef {
  id: string;
  sha256: string;
  size: number;
  partSize: number;
  /** The store's own multipart id (S3), when it has one. */
  uploadId: string | null;
}

export interface CompletedPart {
  number: number;
  etag: string;
}

/**
 * Where the parts of a resumable upload go before the whole blob is verified and stored under
 * its hash: S3 multipart (clients PUT parts straight to presigned URLs) or part files on the
 * server's disk (clients PUT parts to the server). Parts are independent, so an interrupted
 * upload resumes with the parts it lacks.
 */
export interface MultipartTarget {
  readonly kind: 'filesystem' | 's3';
  start(session: Pick<UploadSessionRef, 'id' | 'sha256'>): Promise<{ uploadId: string | null }>;
  /** An absolute presigned URL (S3), or null: the client PUTs to the server's `/uploads/<session>/<part>`. */
  partUrl(session: UploadSessionRef, partNumber: number): Promise<string | null>;
  /** Filesystem only: store one part the client sent; returns its etag (the part's SHA-256). */
  receivePart?(session: UploadSessionRef, partNumber: number, body: Readable): Promise<string>;
  /**
   * Assembles the parts, verifies the whole blob's SHA-256 (INTEGRITY error on mismatch, and
   * nothing left under the hash) and stores it under its hash. The caller records it as stored.
   */
  complete(session: UploadSessionRef, parts: CompletedPart[]): Promise<void>;
  abort(session: UploadSessionRef): Promise<void>;
}

export const partCount = (size: number, partSize: number): number => Math.max(1, Math.ceil(size / partSize));
