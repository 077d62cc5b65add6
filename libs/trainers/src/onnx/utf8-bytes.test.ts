import { describe, expect, it } from 'vitest';
import { encodeUtf8Bytes } from './utf8-bytes';

const row = (ids: BigInt64Array, index: number, maxLength: number): number[] => [...ids.subarray(index * maxLength, (index + 1) * maxLength)].map(Number);
/** What a Python trainer computes: list(b + 1 for b in text.encode('utf-8')[:n]) + [0] * padding. */
const reference = (text: string, maxLength: number): number[] => {
  const bytes = [...Buffer.from(text, 'utf8').subarray(0, maxLength)].map((byte) => byte + 1);
  return [...bytes, ...new Array<number>(maxLength - bytes.length).fill(0)];
};

describe('utf8-bytes encoding', () => {
  it('is byte value + 1, padded with 0, one row per text', () => {
    const ids = encodeUtf8Bytes(['ab', ''], 4);
    expect(ids).toHaveLength(8);
    expect(row(ids, 0, 4)).toEqual([98, 99, 0, 0]);
    expect(row(ids, 1, 4)).toEqual([0, 0, 0, 0]);
  });

  it('truncates to maxLength bytes, not characters, cutting a multi-byte character as Python does', () => {
    for (const text of ['héllo wörld', '日本語のテキスト', 'ab😀cd', 'a'.repeat(7) + '😀', '😀'.repeat(5), 'x'.repeat(100_000)]) {
      for (const maxLength of [1, 2, 3, 5, 8, 9, 16])
        expect(row(encodeUtf8Bytes([text], maxLength), 0, maxLength), `${text} @ ${maxLength}`).toEqual(reference(text, maxLength));
    }
  });

  it('writes every byte value 0..255 as 1..256 (ids are int64, not bytes)', () => {
    const ids = encodeUtf8Bytes(['\u00ff\u0000'], 4);
    expect(row(ids, 0, 4)).toEqual([0xc3 + 1, 0xbf + 1, 1, 0]);
  });
});
