import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadS3BlobStore } from '@trainyard/artifacts';
import { startServerProcess } from '@trainyard/test-services';
import { awsAvailable, ratioRow, startS3Process, timeCommand } from './bench-helpers';
import type { BenchRow } from './bench-row';
import { median, repeat, timeMs } from './stats';

const GIB = 1024 ** 3;
const RUNS = 3;

const makeFile = async (path: string, bytes: number): Promise<string> => {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  const out = createWriteStream(path);
  for (let written = 0; written < bytes; written += chunk.length) {
    for (let i = 0; i < chunk.length; i += 4096) chunk.writeUInt32LE((written + i) >>> 0, i); // incompressible enough, deterministic
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return hash.digest('hex');
};

const httpPut = (url: string, token: string, file: string, hash: string): Promise<number> =>
  timeMs(
    () =>
      new Promise<void>((resolve, reject) => {
        const { hostname, port } = new URL(url);
        const req = request(
          {
            hostname,
            port,
            method: 'PUT',
            path: `/blobs/sha256/${hash}`,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': statSync(file).size },
          },
          (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`PUT answered ${res.statusCode}`))));
          },
        );
        req.on('error', reject);
        createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(req);
      }),
  );

const httpGet = (url: string, token: string, hash: string): Promise<number> =>
  timeMs(async () => {
    const response = await fetch(`${url}/blobs/sha256/${hash}`, { headers: { authorization: `Bearer ${token}` } });
    if (!response.body) throw new Error('no body');
    for await (const _chunk of response.body) void _chunk;
  });

// VmHWM = peak resident set size so far; VmRSS = now.
const memoryMb = (pid: number, field: 'VmHWM' | 'VmRSS'): number => {
  const line =
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`)) ?? '';
  return Number(/(\d+)/.exec(line)?.[1] ?? 0) / 1024;
};

export const artifactsBench = async (): Promise<BenchRow[]> => {
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-bench-blobs-'));
  const rows: BenchRow[] = [];
  try {
    const file = join(scratch, 'one-gib.bin');
    const hash = await makeFile(file, GIB);
    const oursPut: number[] = [];
    const oursGet: number[] = [];
    const idle: number[] = [];
    const peak: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const server = await startServerProcess({ TRAINYARD_DATA_DIR: join(scratch, `server-${run}`) });
      const pid = server.child.pid ?? 0;
      idle.push(memoryMb(pid, 'VmHWM'));
      oursPut.push(await httpPut(server.url, server.token, file, hash));
      oursGet.push(await httpGet(server.url, server.token, hash));
      peak.push(memoryMb(pid, 'VmHWM'));
      server.child.kill('SIGTERM');
      await server.exited;
      rmSync(join(scratch, `server-${run}`), { recursive: true, force: true });
    }
    const copy = await repeat(RUNS, async () => {
      const elapsed = await timeCommand('sh', [
        '-c',
        `sha256sum "${file}" > /dev/null && cp "${file}" "${join(scratch, 'copy.bin')}" && sync "${join(scratch, 'copy.bin')}"`,
      ]);
      rmSync(join(scratch, 'copy.bin'), { force: true });
      return elapsed;
    });
    const sum = await repeat(RUNS, () => timeCommand('sha256sum', [file]));
    rows.push(ratioRow('store 1 GiB through PUT /blobs (hash, fsync, rename)', oursPut, copy, 'sha256sum FILE && cp FILE DEST', 1.25));
    rows.push(ratioRow('read 1 GiB back through GET /blobs with verification', oursGet, sum, 'sha256sum FILE', 1.25));
    const growth = peak.map((value, i) => value - (idle[i] ?? 0));
    rows.push({
      benchmark: 'server memory growth during the 1 GiB upload and read (peak − peak at idle)',
      value: `${median(growth).toFixed(0)} MB`,
      baseline: `${median(idle).toFixed(0)} MB idle (PGlite WASM heap, Prisma)`,
      target: 'flat; total < 200 MB',
      pass: median(peak) < 200,
    });

    if (!awsAvailable()) {
      rows.push({ benchmark: 'S3 multipart upload of 1 GiB vs aws s3 cp', value: 'skipped: aws CLI not installed', target: '≤ 1.1×', pass: false });
      return rows;
    }
    const s3 = await startS3Process();
    const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' };
    Object.assign(process.env, credentials);
    try {
      const { createS3BlobStore } = await loadS3BlobStore();
      const store = createS3BlobStore({
        bucket: s3.bucket,
        prefix: '',
        region: 'us-east-1',
        endpoint: s3.endpoint,
        forcePathStyle: true,
        partSizeBytes: 16 * 1024 * 1024,
        queueSize: 4,
        spoolDir: scratch,
      });
      const ours = await repeat(RUNS, async () => {
        const elapsed = await timeMs(() => store.put(createReadStream(file, { highWaterMark: 1024 * 1024 }), { expectedSha256: hash }));
        await store.delete(hash);
        return elapsed;
      });
      const aws = await repeat(RUNS, () =>
        timeCommand('aws', ['--endpoint-url', s3.endpoint, 's3', 'cp', file, `s3://${s3.bucket}/aws-copy.bin`, '--only-show-errors'], credentials),
      );
      rows.push(ratioRow('S3 multipart upload of 1 GiB to the local S3 server (hash verified)', ours, aws, 'aws s3 cp, same server', 1.1));
    } finally {
      await s3.stop();
    }
    return rows;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};
