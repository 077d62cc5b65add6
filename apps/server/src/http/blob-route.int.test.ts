import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { sha256Hex } from '@trainyard/core';
import { rawRequest } from '@trainyard/test-services';
import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from '../test-support/local-test-server';
import { createVersionOfSmallBlobs } from '../test-support/sync-fixtures';

const t = useLocalTestServer({ TRAINYARD_GC_GRACE_MINUTES: '0' });

const auth = () => ({ host: `127.0.0.1:${t.server.port}`, authorization: `Bearer ${t.server.token}` });
const put = (path: string, body: Buffer, type = 'application/octet-stream') =>
  rawRequest(`${t.server.url}${path}`, { method: 'PUT', headers: { ...auth(), 'content-type': type }, body });
const storeFiles = (): string[] => readdirSync(join(t.dataDir, 'blobs'), { recursive: true }).map(String).sort();

describe('blob routes', () => {
  it('PUT is idempotent (201 then 200); GET, HEAD and Range serve verified bytes', async () => {
    const data = randomBytes(300_000);
    const path = `/blobs/sha256/${sha256Hex(data)}`;
    const first = await put(path, data);
    expect(first.status).toBe(201);
    expect(JSON.parse(first.body)).toEqual({ sha256: sha256Hex(data), size: data.length, created: true });
    expect((await put(path, data)).status).toBe(200);

    const full = await fetch(`${t.server.url}${path}`, { headers: { authorization: `Bearer ${t.server.token}` } });
    expect(full.status).toBe(200);
    expect(Buffer.from(await full.arrayBuffer()).equals(data)).toBe(true);

    const head = await rawRequest(`${t.server.url}${path}`, { method: 'HEAD', headers: auth() });
    expect(head.headers['content-length']).toBe(String(data.length));
    expect(head.body).toBe('');

    const ranged = await fetch(`${t.server.url}${path}`, { headers: { authorization: `Bearer ${t.server.token}`, range: 'bytes=1000-1999' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 1000-1999/${data.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(1000, 2000))).toBe(true);
    expect((await rawRequest(`${t.server.url}${path}`, { headers: { ...auth(), range: 'bytes=999999999-' } })).status).toBe(416);
  });

  it('concurrent identical uploads are safe: one 201, the rest 200', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const statuses = await Promise.all(Array.from({ length: 6 }, () => put(`/blobs/sha256/${sha256Hex(data)}`, data).then((r) => r.status)));
    expect(statuses.sort()).toEqual([200, 200, 200, 200, 200, 201]);
  });

  it('rejects a body that does not match its address with 422 and keeps nothing', async () => {
    const before = storeFiles();
    const response = await put(`/blobs/sha256/${sha256Hex(Buffer.from('claimed'))}`, Buffer.from('actual'));
    expect(response.status).toBe(422);
    expect(JSON.parse(response.body).error.message).toMatch(/hash mismatch/);
    expect(storeFiles()).toEqual(before);
  });

  it('answers every malformed or traversal-shaped address with 400 and touches no file', async () => {
    const good = sha256Hex(Buffer.from('x'));
    const before = storeFiles();
    const targets = [
      '/blobs/sha256/../../etc/passwd',
      '/blobs/../../etc/passwd',
      '/blobs/sha256/..%2f..%2fetc%2fpasswd',
      '/blobs/sha256/%252e%252e%252fetc',
      '/blobs/sha256/..\\..\\x',
      '/blobs/sha256//etc/passwd',
      '/blobs//etc/passwd',
      `/blobs/sha256/${good}#/../`,
      `/blobs/sha256/${good}?x`,
      `/blobs/sha256/${good}%00`,
      `/blobs/sha256/${good.slice(1)}`,
      `/blobs/sha256/${good}0`,
      `/blobs/sha256/${good.toUpperCase()}`,
      `/blobs/sha256/${good.slice(1)}z`,
      `/blobs/sha1/${good.slice(0, 40)}`,
    ];
    for (const target of targets) {
      for (const method of ['GET', 'PUT']) {
        const response = await rawRequest(`${t.server.url}${target}`, {
          method,
          headers: { ...auth(), 'content-type': 'application/octet-stream' },
          body: method === 'PUT' ? Buffer.from('x') : undefined,
        });
        expect({ target, method, status: response.status }).toEqual({ target, method, status: 400 });
      }
    }
    expect(storeFiles()).toEqual(before);
    expect(existsSync('/etc/passwd.part')).toBe(false);
  });

  it('needs the same auth and content type as the API', async () => {
    const data = Buffer.from('auth');
    const path = `${t.server.url}/blobs/sha256/${sha256Hex(data)}`;
    expect((await rawRequest(path, { method: 'PUT', headers: { host: auth().host, 'content-type': 'application/octet-stream' }, body: data })).status).toBe(
      401,
    );
    expect((await put(`/blobs/sha256/${sha256Hex(data)}`, data, 'text/plain')).status).toBe(415);
    expect((await put(`/blobs/sha256/${sha256Hex(data)}`, data, 'application/x-www-form-urlencoded')).status).toBe(415);
  });

  it('discards an upload whose client disconnects midway: no blob, no temp file', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const hash = sha256Hex(data);
    await new Promise<void>((resolve) => {
      const req = request(`${t.server.url}/blobs/sha256/${hash}`, {
        method: 'PUT',
        headers: { ...auth(), 'content-type': 'application/octet-stream', 'content-length': data.length },
      });
      req.on('error', () => resolve());
      req.write(data.subarray(0, 1024 * 1024), () => setTimeout(() => req.destroy(), 100));
      req.on('close', () => resolve());
    });
    // A fixed wait on purpose: polling could pass before the server has even created its temp file.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(readdirSync(join(t.dataDir, 'blobs', 'tmp'), { recursive: true, withFileTypes: true }).filter((entry) => !entry.isDirectory())).toEqual([]);
    expect((await rawRequest(`${t.server.url}/blobs/sha256/${hash}`, { method: 'HEAD', headers: auth() })).status).toBe(404);
  });
});

describe('artifacts router', () => {
  it('registers, lists with filters and cursors, deletes, and garbage-collects', async () => {
    const missing = sha256Hex(Buffer.from('never uploaded'));
    const refused = await t.client.artifacts.register.mutate({ sha256: missing, name: 'm', type: 'model' }).catch((e: unknown) => e);
    expect((refused as TRPCClientError<never>).data).toMatchObject({ code: 'PRECONDITION_FAILED' });

    const ids: string[] = [];
    for (const [index, type] of (['model', 'checkpoint', 'checkpoint'] as const).entries()) {
      const data = Buffer.from(`artifact ${index}`);
      await put(`/blobs/sha256/${sha256Hex(data)}`, data);
      const artifact = await t.client.artifacts.register.mutate({
        sha256: sha256Hex(data),
        name: `../../${type}-${index}.bin`,
        type,
        metadata: { epoch: index },
      });
      expect(artifact).toMatchObject({ size: data.length, type, name: `../../${type}-${index}.bin`, metadata: { epoch: index } });
      ids.push(artifact.id);
    }
    const checkpoints = await t.client.artifacts.list.query({ type: 'checkpoint', limit: 1 });
    expect(checkpoints.items.map((a) => a.id)).toEqual([ids[2]]);
    const next = await t.client.artifacts.list.query({ type: 'checkpoint', limit: 1, cursor: checkpoints.nextCursor ?? undefined });
    expect(next).toMatchObject({ items: [{ id: ids[1] }], nextCursor: null });

    await t.client.artifacts.delete.mutate({ id: ids[0] ?? '' });
    await expect(t.client.artifacts.get.query({ id: ids[0] ?? '' })).rejects.toThrow(/not found/);
    const dry = await t.client.artifacts.gc.mutate({ dryRun: true });
    expect(dry.unreferenced.map((b) => b.sha256)).toContain(sha256Hex(Buffer.from('artifact 0')));
    const real = await t.client.artifacts.gc.mutate({ dryRun: false });
    expect(real.unreferenced.map((b) => b.sha256)).toContain(sha256Hex(Buffer.from('artifact 0')));
    expect((await rawRequest(`${t.server.url}/blobs/sha256/${sha256Hex(Buffer.from('artifact 0'))}`, { method: 'HEAD', headers: auth() })).status).toBe(404);
    expect((await rawRequest(`${t.server.url}/blobs/sha256/${sha256Hex(Buffer.from('artifact 1'))}`, { method: 'HEAD', headers: auth() })).status).toBe(200);
  });

  it('registers against a job or version only if it exists (asked of training and the model registry)', async () => {
    const data = Buffer.from('owned artifact');
    await put(`/blobs/sha256/${sha256Hex(data)}`, data);
    const input = { sha256: sha256Hex(data), name: 'owned.bin', type: 'model' as const };
    const unknownId = '00000000-0000-4000-8000-000000000000';
    await expect(t.client.artifacts.register.mutate({ ...input, trainingJobId: unknownId })).rejects.toThrow('Training job not found');
    await expect(t.client.artifacts.register.mutate({ ...input, modelVersionId: unknownId })).rejects.toThrow('Model version not found');
    await t.client.models.register.mutate({ name: 'artifact-owner' });
    const version = await t.client.models.createVersion.mutate({ model: 'artifact-owner' });
    const artifact = await t.client.artifacts.register.mutate({ ...input, modelVersionId: version.id });
    expect(artifact.modelVersionId).toBe(version.id);
    expect((await t.client.models.getVersion.query({ model: 'artifact-owner', ref: { version: 1 } })).artifactIds).toEqual([artifact.id]);
  });

  it('registers many artifacts in one call, all or none: a blob not uploaded fails the whole call, naming it', async () => {
    const blobs = [0, 1, 2].map((n) => Buffer.from(`many ${n}`));
    for (const data of blobs.slice(0, 2)) await put(`/blobs/sha256/${sha256Hex(data)}`, data);
    const records = blobs.map((data, index) => ({ sha256: sha256Hex(data), name: `many-${index}.bin`, type: 'checkpoint' as const }));
    const refused = await t.client.artifacts.registerMany.mutate({ artifacts: records }).catch((e: unknown) => e as TRPCClientError<never>);
    expect((refused as TRPCClientError<never>).message).toContain(records[2]?.sha256);
    expect((await t.client.artifacts.list.query({ sha256: records[0]?.sha256 })).items).toEqual([]);

    const { ids } = await t.client.artifacts.registerMany.mutate({ artifacts: records.slice(0, 2) });
    const registered = await Promise.all(ids.map((id) => t.client.artifacts.get.query({ id })));
    // In the input's order, each with its blob's size.
    expect(registered.map((a) => ({ name: a.name, size: a.size }))).toEqual([
      { name: 'many-0.bin', size: blobs[0]?.length },
      { name: 'many-1.bin', size: blobs[1]?.length },
    ]);
    const tooMany = await t.client.artifacts.registerMany
      .mutate({ artifacts: Array.from({ length: 1_001 }, () => records[0] as (typeof records)[number]) })
      .catch((e: unknown) => e as TRPCClientError<never>);
    expect(((tooMany as TRPCClientError<never>).data as unknown as { code: string }).code).toBe('BAD_REQUEST');
  });

  it('a version of 1 001 artifacts: its answer lists the first 1 000 ids and the count, its lineage 100 artifacts and one node for the rest', async () => {
    const { version } = await createVersionOfSmallBlobs(t.server, t.client, 'wide-version', { count: 1_001, size: 12, sample: [] });
    const answer = await t.client.models.getVersion.query({ model: 'wide-version', ref: { version } });
    expect({ ids: answer.artifactIds.length, count: answer.artifactCount }).toEqual({ ids: 1_000, count: 1_001 });
    const graph = await t.client.models.lineage.query({ model: 'wide-version' });
    const artifacts = graph.nodes.filter((node) => node.kind === 'artifact');
    expect(artifacts).toHaveLength(101);
    expect(artifacts.at(-1)?.label).toBe('… 901 more artifacts');
    expect(graph.edges.filter((edge) => edge.kind === 'packaged_in' && edge.to === answer.id)).toHaveLength(101);
  });

  it('rejects bad input with the field path', async () => {
    const bad = await t.client.artifacts.register
      .mutate({ sha256: 'ABC', name: 'x\u0000y', type: 'weights' } as never)
      .catch((e: unknown) => e as TRPCClientError<never>);
    const data = (bad as TRPCClientError<never>).data as unknown as { code: string; zodIssues: Array<{ path: string[] }> };
    expect(data.code).toBe('BAD_REQUEST');
    expect(data.zodIssues.map((i) => i.path.join('.')).sort()).toEqual(['name', 'sha256', 'type']);
  });
});
