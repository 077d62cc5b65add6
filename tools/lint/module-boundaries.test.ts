import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: repoRoot });

// The boundary rule reads Nx's cached project graph and silently skips without one.
beforeAll(() => {
  execFileSync(process.execPath, ['node_modules/nx/dist/bin/nx.js', 'show', 'projects'], { cwd: repoRoot, stdio: 'ignore' });
});

const boundaryErrors = async (filePath: string, code: string): Promise<string[]> => {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
};

describe('dependency direction (DESIGN.md §2)', () => {
  it('fails lint when a lower layer imports a higher one', async () => {
    expect(await boundaryErrors('libs/contracts/src/probe.ts', "import { openDatabase } from '@trainyard/db';\nexport const x = openDatabase;\n")).toEqual([
      expect.stringMatching(/scope:contracts.*can only depend on.*scope:core/),
    ]);
    expect(await boundaryErrors('libs/db/src/probe.ts', "import { appRouter } from '@trainyard/api';\nexport const x = appRouter;\n")).not.toEqual([]);
  });

  it('accepts imports in the allowed direction', async () => {
    expect(await boundaryErrors('libs/api/src/probe.ts', "import { newId } from '@trainyard/core';\nexport const x = newId;\n")).toEqual([]);
  });
});

describe('context libs import only the libs they import today (lib:<name> tags)', () => {
  const probe = (name: string, from: string): string => `import { ${name} } from '@trainyard/${from}';\nexport const x = ${name};\n`;

  it('refuses a new edge between context libs', async () => {
    // datasets never imported sync; both are scope:context, so only the lib: constraint refuses it.
    expect(await boundaryErrors('libs/datasets/src/probe.ts', probe('createSyncService', 'sync'))).toEqual([
      expect.stringMatching(/lib:datasets.*can only depend on.*lib:artifacts/),
    ]);
    expect(await boundaryErrors('libs/registry/src/probe.ts', probe('createDatasetSnapshotService', 'datasets'))).toEqual([
      expect.stringMatching(/lib:registry.*can only depend on/),
    ]);
    // trainers run inside trainer processes: no database.
    expect(await boundaryErrors('libs/trainers/src/probe.ts', probe('openDatabase', 'db'))).toEqual([expect.stringMatching(/lib:trainers/)]);
    // auth (API tokens) needs only core, contracts and db.
    expect(await boundaryErrors('libs/auth/src/probe.ts', probe('createModelRegistryService', 'registry'))).toEqual([expect.stringMatching(/lib:auth/)]);
  });

  it("accepts today's edges", async () => {
    expect(await boundaryErrors('libs/datasets/src/probe.ts', probe('createArtifactService', 'artifacts'))).toEqual([]);
    expect(await boundaryErrors('libs/trainers/src/probe.ts', probe('createTrainerCatalog', 'training'))).toEqual([]);
    expect(await boundaryErrors('libs/sync/src/probe.ts', probe('createModelRegistryService', 'registry'))).toEqual([]);
    // A version packages artifacts (issue #19, item 1); artifacts asks back through a port, never an import.
    expect(await boundaryErrors('libs/registry/src/probe.ts', probe('createArtifactService', 'artifacts'))).toEqual([]);
    expect(await boundaryErrors('libs/artifacts/src/probe.ts', probe('createModelVersionService', 'registry'))).toEqual([
      expect.stringMatching(/Circular dependency between "artifacts" and "registry"/),
    ]);
  });

  it('lets only test code take the test-only edge (training → datasets)', async () => {
    const code = probe('createDatasetSnapshotService', 'datasets');
    expect(await boundaryErrors('libs/training/src/probe.ts', code)).toEqual([expect.stringMatching(/lib:training/)]);
    expect(await boundaryErrors('libs/training/src/probe.test.ts', code)).toEqual([]);
    expect(await boundaryErrors('libs/training/src/test-fixtures/probe.ts', code)).toEqual([]);
  });

  it('lets the Python SDK project import nothing, and its integration test only the orchestrator harness and contracts', async () => {
    expect(await boundaryErrors('libs/trainer-sdk-python/src/probe.ts', probe('createTrainerCatalog', 'training'))).toEqual([
      expect.stringMatching(/lib:trainer-sdk-python/),
    ]);
    expect(await boundaryErrors('libs/trainer-sdk-python/src/probe.int.test.ts', probe('createTrainerCatalog', 'training'))).toEqual([]);
    expect(await boundaryErrors('libs/trainer-sdk-python/src/probe.int.test.ts', probe('openDatabase', 'db'))).toEqual([
      expect.stringMatching(/lib:trainer-sdk-python/),
    ]);
  });

  it("keeps sync's two sides apart: the laptop's (sync) and the shared server's (exchange) share only contracts", async () => {
    expect(await boundaryErrors('libs/sync/src/probe.ts', probe('createExchangeService', 'exchange'))).toEqual([expect.stringMatching(/lib:sync/)]);
    // (Refused as a cycle too: Nx's graph holds sync's test edge to exchange.)
    expect(await boundaryErrors('libs/exchange/src/probe.ts', probe('createSyncService', 'sync'))).toEqual([
      expect.stringMatching(/lib:exchange|Circular dependency between "exchange" and "sync"/),
    ]);
    // sync's integration test runs the shared server's side in process as the other end.
    expect(await boundaryErrors('libs/sync/src/probe.int.test.ts', probe('createExchangeService', 'exchange'))).toEqual([]);
    // A pushed bundle's lineage comes from datasets and training through a port (VersionLineage), not an import.
    expect(await boundaryErrors('libs/sync/src/probe.ts', probe('createDatasetSnapshotService', 'datasets'))).toEqual([expect.stringMatching(/lib:sync/)]);
    expect(await boundaryErrors('libs/sync/src/probe.ts', probe('createTrainingContext', 'training'))).toEqual([expect.stringMatching(/lib:sync/)]);
  });
});
