import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactService, createFsBlobStore } from '@trainyard/artifacts';
import { createVersionInput } from '@trainyard/contracts';
import { isDomainError, newId } from '@trainyard/core';
import { createTestDatabase, type Database, openDatabase } from '@trainyard/db';
import { postgresUnavailableReason, startPostgresServer, type PostgresServer } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBundledVersion } from './bundled-version';
import { createModelRegistryService } from './model-registry.service';
import { createModelVersionService } from './model-version.service';

const skipPostgres = postgresUnavailableReason();
let pgServer: PostgresServer | undefined;
let pglite: Database;
beforeAll(async () => {
  pglite = await createTestDatabase();
  if (!skipPostgres) pgServer = await startPostgresServer();
});
afterAll(async () => {
  await pglite?.close();
  await pgServer?.stop();
});

const blobDir = mkdtempSync(join(tmpdir(), 'trainyard-registry-blobs-'));
afterAll(() => rmSync(blobDir, { recursive: true, force: true }));
const services = async (db: Database) => {
  // The versions' artifacts are the artifacts context's; these tests register none through it, so its owner check never runs.
  const artifacts = createArtifactService({
    database: db,
    blobs: await createFsBlobStore(blobDir),
    gcGraceMs: 3_600_000,
    owners: () => {
      throw new Error('these tests register no artifacts');
    },
  });
  return { models: createModelRegistryService(db), versions: createModelVersionService(db, artifacts) };
};
const version = (model: string, extra: Record<string, unknown> = {}) => createVersionInput.parse({ model, ...extra });
const codeOf = (error: unknown): string | undefined => (isDomainError(error) ? error.code : undefined);

describe.each([
  { name: 'PGlite', open: async () => pglite, skip: false },
  {
    name: 'PostgreSQL',
    open: async () => {
      const db = await openDatabase({ kind: 'postgresql', url: await (pgServer as PostgresServer).createDatabase(`registry_${process.pid}`), poolSize: 20 });
      await db.migrate();
      return db;
    },
    skip: Boolean(skipPostgres),
  },
])('version numbers on $name', ({ open, skip }) => {
  it.skipIf(skip)('50 concurrent registrations get 1..50 with no gap, no duplicate and no error', async () => {
    const db = await open();
    const { models, versions } = await services(db);
    await models.register({ name: 'race', description: '', tags: [], metadata: {} }, 'test');
    const created = await Promise.all(Array.from({ length: 50 }, (_, i) => versions.create(version('race', { metrics: { i } }), `worker-${i}`)));
    expect(created.map((v) => v.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((await models.get('race')).latestVersion).toBe(50);
    // A failed registration (gate) consumes no number.
    await expect(versions.create(version('race', { metrics: { acc: 0.1 }, gate: [{ metric: 'acc', op: '>=', value: 0.9 }] }), 'test')).rejects.toThrow(
      /validation gate failed/,
    );
    expect((await versions.create(version('race'), 'test')).version).toBe(51);
    if (db !== pglite) await db.close();
  });
});

describe('model registry', () => {
  it('refuses duplicate names and leaves the original untouched', async () => {
    const { models: m } = await services(pglite);
    await m.register({ name: 'detector', description: 'first', tags: ['nlp'], metadata: { owner: 'ana' } }, 'ana');
    const error = await m.register({ name: 'detector', description: 'second', tags: [], metadata: {} }, 'bob').catch((e: unknown) => e);
    expect(codeOf(error)).toBe('CONFLICT');
    expect((await m.get('detector')).description).toBe('first');
  });

  it('moves aliases, blocks a failing gate unless overridden, and records everything', async () => {
    const { models: m, versions: v } = await services(pglite);
    await m.register({ name: 'gated', description: '', tags: [], metadata: {} }, 'test');
    await v.create(version('gated', { metrics: { val_accuracy: 0.9, val_loss: 0.3 } }), 'test');
    await v.create(version('gated', { metrics: { val_accuracy: 0.905, val_loss: 0.2 } }), 'test');
    await v.create(version('gated', { metrics: { val_accuracy: 0.95, val_loss: 0.1 } }), 'test');
    const gate = [{ metric: 'val_accuracy', op: '>=' as const, relativeTo: { alias: 'champion' }, delta: 0.01 }];

    expect((await v.setAlias({ model: 'gated', alias: 'champion', version: 1, gate }, 'ana')).aliases).toEqual(['champion']);
    const blocked = await v.setAlias({ model: 'gated', alias: 'champion', version: 2, gate }, 'ana').catch((e: unknown) => e);
    expect(codeOf(blocked)).toBe('FAILED_PRECONDITION');
    expect((await v.get('gated', { alias: 'champion' })).version).toBe(1);

    const overridden = await v.setAlias({ model: 'gated', alias: 'champion', version: 2, gate, override: { reason: 'ship the smaller model' } }, 'ana');
    expect(overridden.validation).toMatchObject({ aliases: { champion: { override: { reason: 'ship the smaller model' }, report: { passed: false } } } });
    const moved = await v.setAlias({ model: 'gated', alias: 'champion', version: 3, gate }, 'bob');
    expect(moved.validation).toMatchObject({ aliases: { champion: { report: { passed: true, results: [{ observed: 0.95 }] } } } });
    expect((await v.get('gated', { alias: 'latest' })).version).toBe(3);

    await v.setActive('gated', 3, 'ana');
    expect((await v.get('gated', { alias: 'active' })).active).toBe(true);
    const events = (await m.events('gated', 50)).items.map((e) => `${e.type}:${e.actor}`).reverse();
    expect(events).toEqual([
      'model.registered:test',
      'version.created:test',
      'version.created:test',
      'version.created:test',
      'alias.moved:ana',
      'alias.moved:ana',
      'alias.moved:bob',
      'active.changed:ana',
    ]);
  });

  it('cannot point an alias at a version the model does not have', async () => {
    const { models: m, versions: v } = await services(pglite);
    await m.register({ name: 'small', description: '', tags: [], metadata: {} }, 'test');
    await v.create(version('small'), 'test');
    // 'gated' has a version 3; 'small' does not.
    expect(codeOf(await v.setAlias({ model: 'small', alias: 'champion', version: 3, gate: [] }, 'test').catch((e: unknown) => e))).toBe('NOT_FOUND');
    expect(codeOf(await v.get('small', { alias: 'champion' }).catch((e: unknown) => e))).toBe('NOT_FOUND');
  });

  it('serialises concurrent alias moves: the alias ends on one of them and every move is recorded', async () => {
    const { models: m, versions: v } = await services(pglite);
    await m.register({ name: 'busy', description: '', tags: [], metadata: {} }, 'test');
    for (let i = 0; i < 5; i += 1) await v.create(version('busy'), 'test');
    await Promise.all([1, 2, 3, 4, 5].map((n) => v.setAlias({ model: 'busy', alias: 'candidate', version: n, gate: [] }, `w${n}`)));
    const holder = await v.get('busy', { alias: 'candidate' });
    expect([1, 2, 3, 4, 5]).toContain(holder.version);
    const moves = (await m.events('busy', 50)).items.filter((e) => e.type === 'alias.moved');
    expect(moves).toHaveLength(5);
    expect((moves[0]?.data as { to: number }).to).toBe(holder.version);
  });

  it('refuses to archive a model with an active version, then archives it once cleared', async () => {
    const { models: m, versions: v } = await services(pglite);
    await m.register({ name: 'retiring', description: '', tags: [], metadata: {} }, 'test');
    await v.create(version('retiring'), 'test');
    await v.setActive('retiring', 1, 'test');
    expect(codeOf(await m.archive('retiring', 'test').catch((e: unknown) => e))).toBe('FAILED_PRECONDITION');
    expect((await m.get('retiring')).archivedAt).toBeNull();
    await v.setActive('retiring', null, 'test');
    expect((await m.archive('retiring', 'test')).archivedAt).toBeInstanceOf(Date);
    expect((await m.list({ includeArchived: false, limit: 200 })).items.map((x) => x.name)).not.toContain('retiring');
    expect(codeOf(await v.create(version('retiring'), 'test').catch((e: unknown) => e))).toBe('FAILED_PRECONDITION');
  });

  it('refuses a model-lineage cycle and keeps the old parent', async () => {
    const { models: m } = await services(pglite);
    await m.register({ name: 'base', description: '', tags: [], metadata: {} }, 'test');
    await m.register({ name: 'tuned', description: '', tags: [], metadata: {}, parentModel: 'base' }, 'test');
    await m.register({ name: 'tuned-again', description: '', tags: [], metadata: {}, parentModel: 'tuned' }, 'test');
    expect(codeOf(await m.update('base', { parentModel: 'tuned-again' }, 'test').catch((e: unknown) => e))).toBe('FAILED_PRECONDITION');
    expect(codeOf(await m.update('base', { parentModel: 'base' }, 'test').catch((e: unknown) => e))).toBe('FAILED_PRECONDITION');
    expect((await m.get('base')).parentModel).toBeNull();
    expect((await m.get('tuned-again')).parentModel).toBe('tuned');
  });

  it('searches by name, tag and metadata with a cursor', async () => {
    const { models: m } = await services(pglite);
    for (let i = 0; i < 5; i += 1)
      await m.register({ name: `search-${i}`, description: '', tags: i % 2 ? ['odd'] : ['even'], metadata: { team: i < 3 ? 'a' : 'b' } }, 'test');
    const first = await m.list({ nameContains: 'search-', includeArchived: false, limit: 2 });
    const second = await m.list({ nameContains: 'search-', includeArchived: false, limit: 2, cursor: first.nextCursor ?? undefined });
    expect([...first.items, ...second.items].map((x) => x.name)).toEqual(['search-4', 'search-3', 'search-2', 'search-1']);
    expect((await m.list({ tag: 'odd', metadata: { team: 'a' }, includeArchived: false, limit: 10 })).items.map((x) => x.name)).toEqual(['search-1']);
    expect((await m.list({ nameContains: '%', includeArchived: false, limit: 10 })).items).toEqual([]);
  });

  it('links the artifacts a version is created with, all or none, and lists their ids in id order', async () => {
    const { models: m, versions: v } = await services(pglite);
    const [first, second, spare] = [newId(), newId(), newId()].sort();
    for (const id of [first, second, spare])
      await pglite.sql.query(`INSERT INTO "ModelArtifact" ("id", "sha256", "name", "type", "size") VALUES ($1, $2, 'model.bin', 'model', 10)`, [
        id,
        'c'.repeat(64),
      ]);
    await m.register({ name: 'packaged', description: '', tags: [], metadata: {} }, 'test');
    const created = await v.create(version('packaged', { artifactIds: [second, first] }), 'test');
    expect(created.artifactIds).toEqual([first, second]);
    expect((await v.get('packaged', { version: 1 })).artifactIds).toEqual([first, second]);
    // One unknown id: NOT_FOUND, and the version, its number and the other link are rolled back.
    expect(codeOf(await v.create(version('packaged', { artifactIds: [spare, newId()] }), 'test').catch((e: unknown) => e))).toBe('NOT_FOUND');
    const next = await v.create(version('packaged'), 'test');
    expect(next.version).toBe(2);
    expect(next.artifactIds).toEqual([]);
    expect((await v.list('packaged', 10)).items.map((x) => x.artifactIds)).toEqual([[], [first, second]]);
    const [unlinked] = await pglite.sql.query<{ modelVersionId: string | null }>(`SELECT "modelVersionId" FROM "ModelArtifact" WHERE "id" = $1`, [spare]);
    expect(unlinked?.modelVersionId).toBeNull();
  });

  it('imports a bundled version: registers the model only when missing (a read first), and tolerates a concurrent registration', async () => {
    const { models, versions } = await services(pglite);
    let registrations = 0;
    // The real service, with its registrations counted: an existing model must not cost a write transaction that fails.
    const counted = { ...models, register: (...args: Parameters<typeof models.register>) => (registrations++, models.register(...args)) };
    const bundle = {
      model: { name: 'imported', description: 'from elsewhere', tags: ['x'], metadata: {} },
      version: { version: 7, description: '', metrics: {}, tags: [] },
      artifacts: [],
    };
    expect(await models.exists('imported')).toBe(false);
    expect((await importBundledVersion({ models: counted, versions }, bundle, 'test', {})).version).toBe(1);
    expect(registrations).toBe(1);
    expect(await models.exists('imported')).toBe(true);
    expect((await importBundledVersion({ models: counted, versions }, bundle, 'test', {})).version).toBe(2);
    expect(registrations).toBe(1);
    expect((await models.get('imported')).description).toBe('from elsewhere');

    // Two imports of a new model at once: both may find it missing; the second registration's CONFLICT is fine.
    const race = { ...bundle, model: { ...bundle.model, name: 'imported-twice' } };
    const both = await Promise.all([
      importBundledVersion({ models, versions }, race, 'test', {}),
      importBundledVersion({ models, versions }, race, 'test', {}),
    ]);
    expect(both.map((v) => v.version).sort()).toEqual([1, 2]);
  });
});
