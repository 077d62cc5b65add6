import { createHash, hash, timingSafeEqual } from 'node:crypto';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A content address: exactly 64 lowercase hex characters. Anything else is rejected, never normalised. */
export const isSha256Hex = (value: string): boolean => SHA256_HEX.test(value);

// One-shot crypto.hash: about 3× faster than a Hash object for the short texts of a training
// pair, hashed once per imported pair (strings are hashed as UTF-8, as Hash.update does).
export const sha256Hex = (data: string | Uint8Array): string => hash('sha256', data, 'hex');

/** Constant-time string comparison; hashing first makes the lengths equal. */
export const constantTimeEquals = (a: string, b: string): boolean =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
