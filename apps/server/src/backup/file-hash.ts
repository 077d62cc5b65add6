import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** SHA-256 and length of a file, streamed. */
export const hashFile = async (path: string): Promise<{ sha256: string; size: number }> => {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
};
