/**
 * Takes CSV records longer than a limit out of a text stream before csv-parse sees them.
 * csv-parse's own `max_record_size` leaves it inside the over-long quoted field, so every later
 * row was lost. This guard finds record boundaries by quote parity (RFC 4180: a newline ends a
 * record only outside quotes; `""` toggles twice), holds back at most one record of up to
 * `maxBytes`, and replaces an over-long one by an empty record with the same number of lines,
 * so csv-parse's line numbers stay exact and the rows after it are read as usual.
 */
export class CsvRecordGuard {
  private inQuotes = false;
  private line = 1;
  private recordStartLine = 1;
  private recordNewlines = 0;
  /** The start of the current record not yet passed on. */
  private carry = '';
  private skipping = false;
  private columns: number | undefined;
  /** csv-parse's line number (the record's last line) → the line the over-long record started on. */
  readonly oversized = new Map<number, number>();

  constructor(private readonly maxBytes: number) {}

  /** The text to hand to csv-parse for this chunk. */
  push(chunk: string): string {
    const text = this.carry + chunk;
    this.carry = '';
    const out: string[] = [];
    let recordStart = 0;
    const special = /["\n]/g;
    special.lastIndex = text.length - chunk.length; // the carried text was scanned already
    for (let match = special.exec(text); match; match = special.exec(text)) {
      const at = match.index;
      if (text.charCodeAt(at) === 34) {
        this.inQuotes = !this.inQuotes;
        continue;
      }
      this.line += 1;
      if (this.inQuotes) {
        this.recordNewlines += 1;
        continue;
      }
      const record = text.slice(recordStart, at + 1);
      if (this.skipping || this.tooLong(record)) out.push(this.placeholder(true));
      else {
        this.columns ??= countColumns(record);
        out.push(record);
      }
      recordStart = at + 1;
      this.recordStartLine = this.line;
      this.recordNewlines = 0;
      this.skipping = false;
    }
    const rest = text.slice(recordStart);
    if (!this.skipping && this.tooLong(rest)) this.skipping = true; // dropped; only its lines are counted
    if (!this.skipping) this.carry = rest;
    return out.join('');
  }

  /** What is left at the end of the file. */
  end(): string {
    if (this.skipping) return this.placeholder(false);
    const rest = this.carry;
    this.carry = '';
    return rest;
  }

  private tooLong(text: string): boolean {
    // Byte length only when it could matter: most records are far below the limit.
    return text.length > this.maxBytes / 3 && Buffer.byteLength(text) > this.maxBytes;
  }

  /** An empty record spanning the same lines: one quoted field holding its newlines, then empty fields. */
  private placeholder(terminated: boolean): string {
    if (this.columns === undefined) throw new Error(`the header row is longer than ${this.maxBytes} bytes`);
    this.oversized.set(this.recordStartLine + this.recordNewlines, this.recordStartLine);
    return `"${'\n'.repeat(this.recordNewlines)}"${','.repeat(this.columns - 1)}${terminated ? '\n' : ''}`;
  }
}

/** Fields in a (header) record: commas outside quotes, plus one. */
const countColumns = (record: string): number => {
  let columns = 1;
  let quoted = false;
  for (let i = 0; i < record.length; i += 1) {
    const code = record.charCodeAt(i);
    if (code === 34) quoted = !quoted;
    else if (code === 44 && !quoted) columns += 1;
  }
  return columns;
};
