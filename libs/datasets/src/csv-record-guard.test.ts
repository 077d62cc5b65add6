import { describe, expect, it } from 'vitest';
import { csvLines, MAX_LINE_BYTES, type ParsedLine } from './import-lines';

async function* inChunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

const read = async (bytes: Buffer, chunkSize: number): Promise<ParsedLine[]> => {
  const lines: ParsedLine[] = [];
  for await (const batch of csvLines(inChunks(bytes, chunkSize))) lines.push(...batch);
  return lines;
};

describe('over-long CSV records', () => {
  it('are rejected by the line they start on, and the rows after them are read, however the file is chunked', async () => {
    const big = 'x'.repeat(MAX_LINE_BYTES + 10);
    const file = Buffer.from(
      ['aiText,humanizedText', 'a1,"h1, quoted"', `"${big}\n""${big}",short`, 'a2,h2', '"a3 over\ntwo lines",h3', `${big},x`, '"a4 ""quoted""",h4'].join('\n'),
    );
    const expected: ParsedLine[] = [
      { line: 2, record: { aiText: 'a1', humanizedText: 'h1, quoted' } },
      { line: 3, error: `record is longer than ${MAX_LINE_BYTES} bytes` },
      { line: 5, record: { aiText: 'a2', humanizedText: 'h2' } },
      { line: 7, record: { aiText: 'a3 over\ntwo lines', humanizedText: 'h3' } },
      { line: 8, error: `record is longer than ${MAX_LINE_BYTES} bytes` },
      { line: 9, record: { aiText: 'a4 "quoted"', humanizedText: 'h4' } },
    ];
    // Chunks smaller than a record, about a record, and larger than the file: carried text is never rescanned.
    for (const size of [4_096, 1_000_003, 3 * MAX_LINE_BYTES]) {
      expect(await read(file, size), `chunks of ${size} bytes`).toEqual(expected);
    }
  });

  it('an over-long last record without a final newline is rejected too', async () => {
    const file = Buffer.from(`aiText,humanizedText\na1,h1\n"${'y'.repeat(MAX_LINE_BYTES)}\n",h2`);
    expect(await read(file, 65_536)).toEqual([
      { line: 2, record: { aiText: 'a1', humanizedText: 'h1' } },
      { line: 3, error: `record is longer than ${MAX_LINE_BYTES} bytes` },
    ]);
  });
});
