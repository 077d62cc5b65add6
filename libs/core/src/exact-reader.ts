import { DomainError } from './errors';

/**
 * Reads a byte stream in pieces of exactly the sizes asked for: a line, then the blobs of a
 * blob batch (`POST /blob-batches` and its read), whose sizes the manifest or bundle lists.
 */
export const exactReader = (body: AsyncIterable<Buffer>) => {
  const iterator = body[Symbol.asyncIterator]();
  let buffered: Buffer = Buffer.alloc(0);
  const more = async (): Promise<boolean> => {
    const next = await iterator.next();
    if (next.done) return false;
    buffered = buffered.length === 0 ? next.value : Buffer.concat([buffered, next.value]);
    return true;
  };
  return {
    /** The bytes before the first newline (at most `max` of them). */
    async line(max: number): Promise<Buffer> {
      for (;;) {
        const end = buffered.indexOf(0x0a);
        if (end >= 0 && end <= max) {
          const line = buffered.subarray(0, end);
          buffered = buffered.subarray(end + 1);
          return line;
        }
        if (buffered.length > max) throw new DomainError('INVALID_ARGUMENT', `The manifest line is longer than ${max} bytes`);
        if (!(await more())) throw new DomainError('INVALID_ARGUMENT', 'The stream ended before its manifest line');
      }
    },
    async exactly(size: number): Promise<Buffer> {
      while (buffered.length < size) {
        if (!(await more())) throw new DomainError('INVALID_ARGUMENT', `The stream ended ${size - buffered.length} bytes short of its manifest`);
      }
      const piece = Buffer.from(buffered.subarray(0, size));
      buffered = buffered.subarray(size);
      return piece;
    },
    async assertEnd(): Promise<void> {
      if (buffered.length > 0 || (await more())) throw new DomainError('INVALID_ARGUMENT', 'The stream carries more bytes than its manifest lists');
    },
  };
};
