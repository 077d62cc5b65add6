import { createHash, timingSafeEqual } from 'node:crypto';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A content address: exactly 64 lowercase hex characters. Anything else is rejected, never normalised. */
export const isSha256Hex = (value: string): boolean => SHA256_HEX.test(value);

export const sha256Hex = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex');

/** Constant-time string comparison; hashing first makes the lengths equal. */
export const constantTimeEquals = (a: string, b: string): boolean =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
