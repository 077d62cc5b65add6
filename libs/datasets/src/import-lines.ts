import { parse as parseCsv } from 'csv-parse';
import { CsvRecordGuard } from './csv-record-guard';

export type ImportFormat = 'jsonl' | 'csv';

/**
 * Reading an import file into numbered records: JSONL line by line, CSV through csv-parse.
 * A line that cannot be read is returned as an error with its line number; only a file that
 * cannot be read past some point (CSV header or quoting, invalid UTF-8) throws.
 */

/** A line longer than this is rejected and skipped without being held in memory. */
export const MAX_LINE_BYTES = 1024 * 1024;

/** CSV columns (header row required). Tags are separated by `;`. */
export const CSV_COLUMNS = [
  'aiText',
  'humanizedText',
  'detectionScoreBefore',
  'detectionScoreAfter',
  'feedbackRating',
  'feedbackComment',
  'sourceTransformationId',
  'sourceModel',
  'sourceProvider',
  'language',
  'tags',
] as const;
const NUMERIC = new Set(['detectionScoreBefore', 'detectionScoreAfter', 'feedbackRating']);

export type ParsedLine = { line: number; record: unknown } | { line: number; error: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSONL, one array of lines per chunk read (a generator step per line cost more than parsing
 * it). Complete lines are decoded a chunk at a time; only a chunk holding invalid UTF-8 is
 * decoded line by line, so the bad line is rejected alone.
 */
export async function* jsonLines(source: AsyncIterable<Buffer>): AsyncGenerator<ParsedLine[]> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  let oversized = false;
  let firstLine = true;
  const parseLine = (raw: string, into: ParsedLine[]): void => {
    line += 1;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.length > MAX_LINE_BYTES / 3 && Buffer.byteLength(text) > MAX_LINE_BYTES) into.push({ line, error: `line is longer than ${MAX_LINE_BYTES} bytes` });
    else if (text.trim() === '') return;
    else {
      try {
        into.push({ line, record: JSON.parse(text) });
      } catch (error) {
        // A CSV file sent as JSONL would be rejected line by line; say what it is instead.
        if (firstLine && looksLikeCsvHeader(text)) throw new ImportAbort(line, CSV_SENT_AS_JSONL);
        into.push({ line, error: `malformed JSON: ${(error as Error).message}` });
      }
    }
    firstLine = false;
  };
  const decodeLine = (bytes: Buffer, into: ParsedLine[]): void => {
    if (oversized) {
      line += 1;
      into.push({ line, error: `line is longer than ${MAX_LINE_BYTES} bytes` });
      return;
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      line += 1;
      into.push({ line, error: 'invalid UTF-8' });
      return;
    }
    parseLine(text, into);
  };
  /** Whole lines, newline-separated, with no newline at the end. */
  const decodeLines = (bytes: Buffer, into: ParsedLine[]): void => {
    let text: string | undefined;
    try {
      text = utf8.decode(bytes);
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      let start = 0;
      for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
        parseLine(text.slice(start, newline), into);
        start = newline + 1;
      }
      parseLine(text.slice(start), into);
      return;
    }
    let start = 0;
    for (let newline = bytes.indexOf(10); newline !== -1; newline = bytes.indexOf(10, start)) {
      decodeLine(bytes.subarray(start, newline), into);
      start = newline + 1;
    }
    decodeLine(bytes.subarray(start), into);
  };
  for await (const chunk of source) {
    const lines: ParsedLine[] = [];
    const first = chunk.indexOf(10);
    const last = chunk.lastIndexOf(10);
    if (first !== -1) {
      // The line carried over from the previous chunk ends here.
      const head = chunk.subarray(0, first);
      decodeLine(pending.length > 0 ? Buffer.concat([...pending, head]) : head, lines);
      pending = [];
      pendingBytes = 0;
      oversized = false;
      if (last > first) decodeLines(chunk.subarray(first + 1, last), lines);
    }
    const rest = chunk.subarray(last + 1);
    if (oversized || pendingBytes + rest.length > MAX_LINE_BYTES) {
      oversized = true; // keep skipping until the next newline; memory stays bounded
      pending = [];
      pendingBytes = 0;
    } else if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
    if (lines.length > 0) yield lines;
  }
  if (pendingBytes > 0 || oversized) {
    const lines: ParsedLine[] = [];
    decodeLine(Buffer.concat(pending), lines);
    if (lines.length > 0) yield lines;
  }
}

const csvRecord = (row: Record<string, string>): Record<string, unknown> => {
  const record: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    if (value === '') continue;
    if (column === 'tags')
      record[column] = value
        .split(';')
        .map((tag) => tag.trim())
        .filter(Boolean);
    else if (NUMERIC.has(column)) record[column] = Number(value);
    else record[column] = value;
  }
  return record;
};

export const JSONL_SENT_AS_CSV =
  'this looks like JSONL (its first line is a JSON object), not CSV: import it as JSONL (content type application/x-ndjson; `trainyard data import FILE --format jsonl`)';
export const CSV_SENT_AS_JSONL =
  'this looks like CSV (its first line is a header naming CSV columns), not JSONL: import it as CSV (content type text/csv; `trainyard data import FILE --format csv`)';

/** A first line naming at least two of our CSV columns, comma-separated. */
const looksLikeCsvHeader = (text: string): boolean => {
  const names = text
    .replace(/^\uFEFF/, '')
    .split(',')
    .map((name) => name.trim().replace(/^"|"$/g, ''));
  return names.length >= 2 && names.filter((name) => (CSV_COLUMNS as readonly string[]).includes(name)).length >= 2;
};

/** The file's first chunk, and the whole file again as a stream. */
const peekFirstChunk = async (source: AsyncIterable<Buffer>): Promise<{ first: Buffer | undefined; all: AsyncIterable<Buffer> }> => {
  const iterator = source[Symbol.asyncIterator]();
  const head = await iterator.next();
  const first = head.done ? undefined : head.value;
  return {
    first,
    all: (async function* () {
      if (first) yield first;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    })(),
  };
};

/** CSV, one record per step (csv-parse hands them over one by one). */
export async function* csvLines(input: AsyncIterable<Buffer>): AsyncGenerator<ParsedLine[]> {
  const { first, all: source } = await peekFirstChunk(input);
  // A JSONL file sent as CSV would be one rejection per line; say what it is instead.
  if (first && /^(\uFEFF)?\s*\{/.test(first.subarray(0, 64).toString('utf8'))) throw new ImportAbort(1, JSONL_SENT_AS_CSV);
  let headerError: string | undefined;
  const parser = parseCsv({
    bom: true,
    info: true,
    // A malformed record is reported (below) and parsing goes on, so valid rows on either
    // side of it are kept.
    skip_records_with_error: true,
    columns: (header: string[]) => {
      const unknown = header.filter((column) => !(CSV_COLUMNS as readonly string[]).includes(column));
      if (unknown.length > 0) headerError = `unknown column(s): ${unknown.join(', ')}; expected some of: ${CSV_COLUMNS.join(', ')}`;
      return header;
    },
  });
  // Invalid UTF-8 is refused outright rather than silently replaced.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // Records over the limit never reach csv-parse (see CsvRecordGuard); the line count is its own.
  const guard = new CsvRecordGuard(MAX_LINE_BYTES);
  let linesSeen = 1;
  const decoded = (async function* () {
    for await (const chunk of source) {
      const text = decoder.decode(chunk, { stream: true });
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) linesSeen += 1;
      yield guard.push(text);
    }
    yield guard.push(decoder.decode()) + guard.end();
  })();
  const feeding = (async () => {
    try {
      for await (const text of decoded) {
        if (parser.destroyed) return; // the parser failed (e.g. bad quoting); stop feeding it
        if (!parser.write(text)) {
          await new Promise<void>((resolve) => {
            parser.once('drain', () => resolve());
            parser.once('close', () => resolve());
          });
        }
      }
      parser.end();
    } catch (error) {
      const message = error instanceof TypeError ? `invalid UTF-8 near line ${linesSeen}: ${error.message}` : (error as Error).message;
      parser.destroy(new Error(message));
    }
  })();
  const skipped: ParsedLine[] = [];
  parser.on('skip', (error: Error & { lines?: number }) => skipped.push({ line: error.lines ?? linesSeen, error: error.message }));
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      if (headerError) break;
      const oversizedFrom = guard.oversized.get(info.lines);
      const parsed: ParsedLine =
        oversizedFrom === undefined
          ? { line: info.lines, record: csvRecord(record) }
          : { line: oversizedFrom, error: `record is longer than ${MAX_LINE_BYTES} bytes` };
      yield [...skipped.splice(0), parsed];
    }
    if (skipped.length > 0) yield skipped.splice(0);
  } finally {
    await feeding;
  }
  if (headerError) throw new ImportAbort(1, headerError);
}

/** The file cannot be read past this point (header, quoting, encoding). */
export class ImportAbort extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}
