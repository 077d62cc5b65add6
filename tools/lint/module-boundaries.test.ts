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
    expect(await boundaryErrors('libs/contracts/src/probe.ts', "import { openDatabase } from '@trainyard/db';\nexport const x = openDatabase;\n"))
      .toEqual([expect.stringMatching(/scope:contracts.*can only depend on.*scope:core/)]);
    expect(await boundaryErrors('libs/db/src/probe.ts', "import { appRouter } from '@trainyard/api';\nexport const x = appRouter;\n"))
      .not.toEqual([]);
  });

  it('accepts imports in the allowed direction', async () => {
    expect(await boundaryErrors('libs/api/src/probe.ts', "import { newId } from '@trainyard/core';\nexport const x = newId;\n")).toEqual([]);
  });
});
