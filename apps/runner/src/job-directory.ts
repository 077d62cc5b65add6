import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RunnerInputs } from '@trainyard/training/runner-kit';
import type { RunnerClient } from './runner-client';

/** A channel whose bytes did not hash to what the server named: the runner refuses to train on it. */
export class ChannelCorrupt extends Error {}

/** Downloads of one channel tried before the runner gives up (a mismatch may be a flaky network). */
const DOWNLOAD_TRIES = 2;

/**
 * Lays out the job directory as the local and Slurm executors do (libs/training PROTOCOL.md):
 * `input/config/hyperparameters.json` and `job.json`, `checkpoints/`, `output/model/`, `logs/`.
 */
export const layOutJobDirectory = async (jobDir: string, inputs: RunnerInputs): Promise<void> => {
  await mkdir(join(jobDir, 'input', 'config'), { recursive: true });
  await mkdir(join(jobDir, 'checkpoints'), { recursive: true });
  await mkdir(join(jobDir, 'output', 'model'), { recursive: true });
  await mkdir(join(jobDir, 'logs'), { recursive: true });
  await writeFile(join(jobDir, 'input', 'config', 'hyperparameters.json'), JSON.stringify(inputs.hyperparameters, null, 2));
  await writeFile(join(jobDir, 'input', 'config', 'job.json'), JSON.stringify(inputs.job, null, 2));
};

export const sha256OfFile = async (file: string): Promise<{ sha256: string; size: number }> => {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
};

/**
 * The snapshot's channels, each downloaded from the blob route into a temporary file while its
 * SHA-256 is computed, and moved into `input/data/<channel>/data.jsonl` (read-only) only if it
 * is the hash the server named: a corrupt or truncated channel is never trained on.
 */
export const downloadChannels = async (
  client: RunnerClient,
  jobDir: string,
  channels: RunnerInputs['channels'],
  log: (message: string) => void,
): Promise<void> => {
  for (const channel of channels) {
    const dir = join(jobDir, 'input', 'data', channel.name);
    await mkdir(dir, { recursive: true });
    const target = join(dir, 'data.jsonl');
    const partial = `${target}.partial`;
    for (let attempt = 1; ; attempt += 1) {
      const hash = createHash('sha256');
      let size = 0;
      try {
        const response = await client.download(channel.sha256);
        if (!response.body) throw new Error('empty response');
        const hashing = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            hash.update(chunk);
            size += chunk.length;
            done(null, chunk);
          },
        });
        await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), hashing, createWriteStream(partial));
        const got = hash.digest('hex');
        if (got !== channel.sha256 || size !== channel.bytes) {
          throw new ChannelCorrupt(
            `channel ${channel.name}: SHA-256 ${got} (${size} bytes) is not the ${channel.sha256} (${channel.bytes} bytes) the server named; refused`,
          );
        }
        await rename(partial, target);
        await chmod(target, 0o444);
        break;
      } catch (error) {
        await rm(partial, { force: true });
        if (attempt >= DOWNLOAD_TRIES && error instanceof ChannelCorrupt) throw error;
        if (attempt >= DOWNLOAD_TRIES * 10) throw error;
        log(`channel ${channel.name}: download ${attempt} failed (${(error as Error).message}); trying again`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 5_000)));
      }
    }
  }
};
