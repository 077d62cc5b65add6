import { pairInput } from '@trainyard/contracts';
import { ImportAbort, type ImportFormat, type ParsedLine, csvLines, jsonLines } from './import-lines';
import { copyRow, jsonRow, type PreparedRows, preparePair, type RowFormat } from './pair-insert';

/** A batch is cut at this many pairs or this many bytes of text, whichever comes first (memory stays bounded). */
const BATCH_PAIRS = 20_000;
/**
 * The first batch is small and each next one twice as big, up to BATCH_PAIRS: the writer starts
 * after ~30 ms instead of waiting ~0.6 s for a full first batch, and since preparing a pair
 * takes about half as long as writing it, every later batch is ready when the writer is.
 */
const FIRST_BATCH_PAIRS = 1_000;
const BATCH_BYTES = 16 * 1024 * 1024;
/** At most this many rejections are itemised; the rest are counted. */
const MAX_REPORTED = 1_000;

export interface Rejection {
  line: number;
  message: string;
}

/** Valid pairs ready to write, and what was rejected since the previous batch. */
export interface ImportBatch extends PreparedRows {
  rejected: Rejection[];
  rejectedCount: number;
  /** On the last batch only: where the file stopped being readable (bad CSV header or quoting, invalid UTF-8, a dropped upload). */
  abortedAt?: Rejection;
}

const emptyBatch = (): ImportBatch => ({ hashes: [], rows: [], rejected: [], rejectedCount: 0 });

/**
 * Reads an import file into batches of prepared rows: validated against the same schema as
 * `collect`, normalised, hashed, quality-scored and serialised. Pure work with no database, so
 * it runs in a worker thread beside the writer (pair-preparation-worker.ts). The last batch may
 * be empty; it carries the final rejections.
 */
export async function* importBatches(source: AsyncIterable<Buffer>, format: ImportFormat, rowFormat: RowFormat): AsyncGenerator<ImportBatch> {
  const toRow = rowFormat === 'copy' ? copyRow : jsonRow;
  let batch = emptyBatch();
  let batchPairs = FIRST_BATCH_PAIRS;
  let textBytes = 0;
  let itemised = 0;
  const reject = (line: number, message: string): void => {
    batch.rejectedCount += 1;
    if (itemised < MAX_REPORTED) {
      itemised += 1;
      batch.rejected.push({ line, message });
    }
  };
  const lines = format === 'jsonl' ? jsonLines(source) : csvLines(source);
  while (true) {
    let next: IteratorResult<ParsedLine[]>;
    try {
      next = await lines.next();
    } catch (error) {
      const line = error instanceof ImportAbort ? error.line : ((error as { lines?: number }).lines ?? 0);
      batch.abortedAt = { line, message: `${(error as Error).message}; the rest of the file was not read` };
      break;
    }
    if (next.done) break;
    for (const parsed of next.value) {
      if ('error' in parsed) {
        reject(parsed.line, parsed.error);
        continue;
      }
      const pair = pairInput.safeParse(parsed.record);
      if (!pair.success) {
        reject(parsed.line, pair.error.issues.map((issue) => `${issue.path.join('.') || '(line)'}: ${issue.message}`).join('; '));
        continue;
      }
      const prepared = preparePair(pair.data);
      batch.hashes.push(prepared.contentHash);
      batch.rows.push(toRow(prepared));
      textBytes += pair.data.aiText.length + pair.data.humanizedText.length;
      if (batch.hashes.length >= batchPairs || textBytes >= BATCH_BYTES) {
        yield batch;
        batch = emptyBatch();
        batchPairs = Math.min(2 * batchPairs, BATCH_PAIRS);
        textBytes = 0;
      }
    }
  }
  yield batch;
}
