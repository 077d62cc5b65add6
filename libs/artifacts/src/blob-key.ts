import { DomainError, isSha256Hex } from '@trainyard/core';

/** Validates a content address; anything but 64 lowercase hex characters is refused, never normalised. */
export const assertSha256 = (value: string): string => {
  if (!isSha256Hex(value)) {
    throw new DomainError('INVALID_ARGUMENT', 'A blob hash must be exactly 64 lowercase hexadecimal characters', {
      field: 'sha256',
    });
  }
  return value;
};

/** `sha256/ab/abcdef…`: the relative location of a blob in any store. */
export const blobRelativeKey = (sha256: string): string => `sha256/${assertSha256(sha256).slice(0, 2)}/${sha256}`;
