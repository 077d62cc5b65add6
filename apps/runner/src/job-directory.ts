import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RunnerInputs } from '@trainyard/training/runner-kit';
import pRetry from 'p-retry';
import type { RunnerClient } from './runner-client';

/** A download whose bytes did not hash to what the server named: the runner refuses to use it. */
export class BlobCorrupt extends Error {}

/** Downloads of one blob that did not verify before the runner gives up (a mismatch may be a flaky network). */
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
 * Downloads one blob from the blob route into a temporary file while its SHA-256 is computed,
 * and moves it to `target` (read-only) only if it is the hash and size the server named: a
 * corrupt or truncated download is never used. A mismatch is tried once more, a broken
 * connection a few times, then the error is thrown.
 */
const downloadVerified = async (
  client: RunnerClient,
  blob: { sha256: string; bytes: number },
  target: string,
  label: string,
  log: (message: string) => void,
): Promise<void> => {
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  const attempt = async (): Promise<void> => {
    const hash = createHash('sha256');
    let size = 0;
    try {
      const response = await client.download(blob.sha256);
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
      if (got !== blob.sha256 || size !== blob.bytes) {
        throw new BlobCorrupt(`${label}: SHA-256 ${got} (${size} bytes) is not the ${blob.sha256} (${blob.bytes} bytes) the server named; refused`);
      }
      await rename(partial, target);
      await chmod(target, 0o444);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  };
  // A mismatch is tried once more (it may be a flaky network), a broken connection longer.
  const mayRetry = (error: Error, attemptNumber: number): boolean => !(error instanceof BlobCorrupt && attemptNumber >= DOWNLOAD_TRIES);
  await pRetry(attempt, {
    retries: DOWNLOAD_TRIES * 10 - 1,
    minTimeout: 500,
    maxTimeout: 5_000,
    onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft > 0 && mayRetry(error, attemptNumber)) log(`${label}: download ${attemptNumber} failed (${error.message}); trying again`);
    },
    shouldRetry: ({ error, attemptNumber }) => mayRetry(error, attemptNumber),
  });
};

/** The snapshot's channels, into `input/data/<channel>/data.jsonl`, each verified (downloadVerified). */
export const downloadChannels = async (
  client: RunnerClient,
  jobDir: string,
  channels: RunnerInputs['channels'],
  log: (message: string) => void,
): Promise<void> => {
  for (const channel of channels)
    await downloadVerified(client, channel, join(jobDir, 'input', 'data', channel.name, 'data.jsonl'), `channel ${channel.name}`, log);
};

/**
 * The checkpoints the job kept from earlier attempts, each verified, at their job-relative
 * paths (only under `checkpoints/`: the server names them, and nothing else of the job
 * directory is the server's to write), so a retry resumes from them as a local retry does.
 */
export const downloadCheckpoints = async (
  client: RunnerClient,
  jobDir: string,
  checkpoints: RunnerInputs['checkpoints'],
  log: (message: string) => void,
): Promise<void> => {
  for (const checkpoint of checkpoints) {
    const target = resolve(jobDir, checkpoint.path);
    if (!target.startsWith(resolve(jobDir, 'checkpoints') + sep)) {
      log(`checkpoint ${checkpoint.path} is not under checkpoints/; not downloaded`);
      continue;
    }
    await downloadVerified(client, checkpoint, target, `checkpoint ${checkpoint.path}`, log);
    // The trainer may write over it when it checkpoints again.
    await chmod(target, 0o644);
  }
};
