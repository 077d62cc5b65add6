import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Every table has one owning lib (docs/architecture.md, "Contexts and their tables"); only the
 * owner's non-test source may name it in SQL (`"TrainingJob"`) or use its Prisma delegate
 * (`prisma.trainingJob.findMany`, `tx.modelArtifact.create`). Everyone else goes through the
 * owner's service. Apps own no tables.
 */
const OWNERS: Record<string, string> = {
  TrainingDataPoint: 'datasets',
  DatasetSnapshot: 'datasets',
  ModelArtifact: 'artifacts',
  StoredBlob: 'artifacts',
  TrainingJob: 'training',
  ModelRegistry: 'registry',
  ModelVersion: 'registry',
  ModelAlias: 'registry',
  ModelEvent: 'registry',
  ApiToken: 'auth',
  JobToken: 'auth',
  SyncRemote: 'sync',
  SyncOutbox: 'sync',
  RemoteVersionLink: 'sync',
  UploadSession: 'exchange',
  ReceivedPush: 'exchange',
  StagedArtifactPage: 'exchange',
  Sweep: 'sweeps',
  SweepTrial: 'sweeps',
  SweepRung: 'sweeps',
  ScheduledTaskRun: 'db',
  _prisma_migrations: 'db',
};

/**
 * Today's crossings: a file that touches a table its lib does not own. Issue #19 (item 1) burns
 * this list down — move the query behind the owner's service and delete the entry (the test
 * fails while a listed crossing no longer exists). Never add an entry to make a new crossing
 * pass. docs/architecture.md lists the same entries (checked below).
 */
const KNOWN_CROSSINGS: { file: string; table: string; why: string }[] = [];

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const TABLES = Object.keys(OWNERS);
/** Prisma's delegate for a model: `TrainingJob` → `prisma.trainingJob`. */
const DELEGATES = new Map(TABLES.filter((t) => /^[A-Z]/.test(t)).map((t) => [t.charAt(0).toLowerCase() + t.slice(1), t]));
const DELEGATE_METHODS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
  'count',
  'aggregate',
  'groupBy',
]);
/** Names a Prisma client (or transaction client) goes by, for a delegate used without a method. */
const CLIENT_NAMES = new Set(['prisma', 'tx']);
const QUOTED_TABLE = new RegExp(`"(${TABLES.join('|')})"`, 'g');

/** Tables a source file names in string/template literals (SQL) or reaches through a Prisma delegate. Comments do not count. */
const tablesTouched = (fileName: string, text: string): Set<string> => {
  const found = new Set<string>();
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      for (const [, table = ''] of node.text.matchAll(QUOTED_TABLE)) found.add(table);
    }
    if (ts.isPropertyAccessExpression(node)) {
      const table = DELEGATES.get(node.name.text);
      if (table) {
        const parent = node.parent;
        const calledAsDelegate = ts.isPropertyAccessExpression(parent) && parent.expression === node && DELEGATE_METHODS.has(parent.name.text);
        const receiver = ts.isPropertyAccessExpression(node.expression)
          ? node.expression.name.text
          : ts.isIdentifier(node.expression)
            ? node.expression.text
            : '';
        if (calledAsDelegate || CLIENT_NAMES.has(receiver)) found.add(table);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
};

const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const TEST_CODE = /\.test\.[cm]?[jt]sx?$|\/(test-support|test-fixtures)\//;
const SKIPPED_DIRS = new Set(['node_modules', 'generated', 'dist']);

const sourceFiles = (dir: string): string[] =>
  readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : sourceFiles(path);
    return SOURCE.test(entry.name) && !TEST_CODE.test(path) ? [path] : [];
  });

/** `libs/training/src/x.ts` → `training`; `apps/server/src/x.ts` → `apps/server` (owns nothing). */
const projectOf = (file: string): string => {
  const [kind = '', name = ''] = file.split('/');
  return kind === 'libs' ? name : `${kind}/${name}`;
};

type Crossing = { file: string; table: string };
const key = (c: Crossing): string => `${c.file} → ${c.table}`;

/** Every non-test source file of every lib and app that touches a table its project does not own. */
const scanCrossings = (): Crossing[] => {
  const roots = ['libs', 'apps'].flatMap((kind) =>
    readdirSync(join(repoRoot, kind))
      .map((name) => `${kind}/${name}/src`)
      .filter((src) => existsSync(join(repoRoot, src))),
  );
  return roots
    .flatMap(sourceFiles)
    .flatMap((file) =>
      [...tablesTouched(file, readFileSync(join(repoRoot, file), 'utf8'))]
        .filter((table) => OWNERS[table] !== projectOf(file))
        .map((table) => ({ file, table })),
    );
};

/** Crossings not on the list (new ones) and listed ones no longer found (fixed: delete them from the list). */
const compareCrossings = (found: Crossing[], known: Crossing[]): { unlisted: string[]; stale: string[] } => {
  const foundKeys = new Set(found.map(key));
  const knownKeys = new Set(known.map(key));
  return {
    unlisted: [...foundKeys].filter((k) => !knownKeys.has(k)).sort(),
    stale: [...knownKeys].filter((k) => !foundKeys.has(k)).sort(),
  };
};

const architectureDoc = (): string => readFileSync(join(repoRoot, 'docs/architecture.md'), 'utf8');
const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map(([, text = '']) => text);

describe('table ownership (docs/architecture.md, "Contexts and their tables")', () => {
  it('gives every table in prisma/schema.prisma exactly one owning lib', () => {
    const schema = readFileSync(join(repoRoot, 'prisma/schema.prisma'), 'utf8');
    const models = [...schema.matchAll(/^model (\w+) \{/gm)].map(([, model = '']) => model);
    expect([...models, '_prisma_migrations'].sort()).toEqual(TABLES.slice().sort());
    for (const owner of new Set(Object.values(OWNERS))) expect(existsSync(join(repoRoot, 'libs', owner, 'project.json')), owner).toBe(true);
  });

  it('finds table names in SQL and Prisma delegate calls, not in comments or relation fields', () => {
    const code = [
      '// "TrainingJob" is mentioned in a comment only; prisma.trainingJob.findMany too',
      'await prisma.syncOutbox.findMany({});',
      'await this.db.tx.modelArtifact.create({ data });',
      'const delegate = tx.storedBlob;',
      'await sql.query(`SELECT * FROM "ModelVersion" v WHERE v."id" = ${id} AND EXISTS (SELECT 1 FROM "ModelAlias")`);',
      'await sql.query("DELETE FROM \\"ApiToken\\" WHERE id = $1", [id]);',
      'const name = artifact.modelVersion.id + version.trainingJob?.name;',
    ].join('\n');
    expect([...tablesTouched('probe.ts', code)].sort()).toEqual(['ApiToken', 'ModelAlias', 'ModelArtifact', 'ModelVersion', 'StoredBlob', 'SyncOutbox']);
  });

  it('reports a new crossing and a listed crossing that is gone', () => {
    const known = [
      { file: 'libs/sync/src/a.ts', table: 'ModelVersion' },
      { file: 'libs/sync/src/b.ts', table: 'TrainingJob' },
    ];
    const found = [
      { file: 'libs/sync/src/a.ts', table: 'ModelVersion' },
      { file: 'libs/datasets/src/c.ts', table: 'SyncOutbox' },
    ];
    expect(compareCrossings(found, known)).toEqual({ unlisted: ['libs/datasets/src/c.ts → SyncOutbox'], stale: ['libs/sync/src/b.ts → TrainingJob'] });
  });

  it("lets no lib or app touch a table it does not own, except today's listed crossings", () => {
    const { unlisted, stale } = compareCrossings(scanCrossings(), KNOWN_CROSSINGS);
    // A new crossing: call the owning lib's service instead (docs/architecture.md, "Contexts and their tables").
    expect(unlisted, 'tables touched outside their owning lib').toEqual([]);
    // Fixed: delete the entry from KNOWN_CROSSINGS here and from docs/architecture.md.
    expect(stale, 'listed crossings that no longer exist').toEqual([]);
    expect(new Set(KNOWN_CROSSINGS.map(key)).size, 'duplicate entries').toBe(KNOWN_CROSSINGS.length);
    for (const crossing of KNOWN_CROSSINGS) expect(crossing.why.trim(), key(crossing)).not.toBe('');
  });

  it('matches docs/architecture.md: the owners table and the list of crossings', () => {
    const doc = architectureDoc();
    const ownersSection = doc.slice(doc.indexOf('## Contexts and their tables'), doc.indexOf('### Where contexts reach'));
    const documentedOwners: Record<string, string> = {};
    for (const line of ownersSection.split('\n')) {
      const [, lib = '', tables = ''] = line.split('|').map((cell) => cell.trim());
      if (!lib || !existsSync(join(repoRoot, 'libs', lib, 'project.json'))) continue;
      for (const table of backticked(tables)) documentedOwners[table] = lib;
    }
    expect(documentedOwners, 'owners table in docs/architecture.md').toEqual(OWNERS);

    const start = doc.indexOf('<!-- table-ownership:crossings -->');
    const end = doc.indexOf('<!-- /table-ownership:crossings -->');
    expect(start, 'crossings markers in docs/architecture.md').toBeGreaterThan(-1);
    const documented = doc
      .slice(start, end)
      .split('\n')
      .flatMap((line) => {
        const [, fileCell = '', tablesCell = ''] = line.split('|').map((cell) => cell.trim());
        const [file] = backticked(fileCell);
        return file ? backticked(tablesCell).map((table) => key({ file, table })) : [];
      });
    expect(documented.sort(), 'crossings listed in docs/architecture.md').toEqual(KNOWN_CROSSINGS.map(key).sort());
  });
});
