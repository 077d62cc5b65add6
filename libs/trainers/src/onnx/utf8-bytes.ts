import { endianness } from 'node:os';

// int64 ids are written as their low 32-bit word (the high word stays 0): no BigInt per byte.
if (endianness() !== 'LE') throw new Error('utf8-bytes encoding assumes a little-endian machine');

/**
 * The `utf8-bytes` input encoding of the scoring contract: each text's UTF-8 bytes as int64 ids
 * (byte value + 1, so 0 is free for padding), truncated to maxLength bytes and right-padded with
 * 0, in one row-major [texts.length, maxLength] tensor. Truncation counts bytes, not characters,
 * exactly as a Python trainer's `text.encode('utf-8')[:maxLength]` does (a character cut at the
 * end keeps its first bytes).
 */
export const encodeUtf8Bytes = (texts: readonly string[], maxLength: number): BigInt64Array => {
  const ids = new BigInt64Array(texts.length * maxLength);
  const words = new Int32Array(ids.buffer);
  // encodeInto writes whole characters only: 4 bytes of room past maxLength hold the one cut there.
  const scratch = new Uint8Array(maxLength + 4);
  const encoder = new TextEncoder();
  texts.forEach((text, row) => {
    // maxLength + 1 UTF-16 units give at least maxLength bytes, and keep a surrogate pair at the cut whole.
    const { written } = encoder.encodeInto(text.length > maxLength + 1 ? text.slice(0, maxLength + 1) : text, scratch);
    const length = Math.min(written, maxLength);
    const offset = row * maxLength * 2;
    for (let i = 0; i < length; i += 1) words[offset + i * 2] = (scratch[i] ?? 0) + 1;
  });
  return ids;
};
