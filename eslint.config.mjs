import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Dependency direction (DESIGN.md §2): core ← contracts ← context libs ← api ← apps.
// db is infrastructure that context libs implement their ports with; client and web only
// see contracts and the API's types.
const depConstraints = [
  { sourceTag: 'scope:core', onlyDependOnLibsWithTags: ['scope:core'] },
  { sourceTag: 'scope:contracts', onlyDependOnLibsWithTags: ['scope:core'] },
  { sourceTag: 'scope:db', onlyDependOnLibsWithTags: ['scope:core'] },
  { sourceTag: 'scope:context', onlyDependOnLibsWithTags: ['scope:core', 'scope:contracts', 'scope:db', 'scope:context'] },
  { sourceTag: 'scope:api', onlyDependOnLibsWithTags: ['scope:core', 'scope:contracts', 'scope:db', 'scope:context'] },
  { sourceTag: 'scope:client', onlyDependOnLibsWithTags: ['scope:core', 'scope:contracts', 'scope:api'] },
  { sourceTag: 'scope:web', onlyDependOnLibsWithTags: ['scope:contracts', 'scope:client'] },
  { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['scope:core', 'scope:contracts', 'scope:db', 'scope:context', 'scope:api', 'scope:client'] },
  { sourceTag: 'scope:example', onlyDependOnLibsWithTags: ['scope:client'] },
  { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['*'] },
];

// Each lib also has its own `lib:<name>` tag. Nx checks every constraint whose sourceTag the
// importing project has, so these narrow the scope rules above: a context lib may import
// exactly the libs it imports today (docs/architecture.md, "Dependency direction"). Adding an
// edge here is an architecture decision, not a lint fix.
const libDeps = {
  artifacts: ['core', 'contracts', 'db'],
  datasets: ['core', 'contracts', 'db', 'artifacts'],
  // A version packages artifacts: it links them when created and lists them (artifacts asks back only through a port).
  registry: ['core', 'contracts', 'db', 'artifacts'],
  training: ['core', 'contracts', 'db', 'artifacts', 'registry'],
  trainers: ['core', 'contracts', 'artifacts', 'registry', 'training'],
  sync: ['core', 'contracts', 'db', 'artifacts', 'registry'],
  exchange: ['core', 'contracts', 'db', 'artifacts', 'registry'],
  auth: ['core', 'contracts', 'db'],
  // The Slurm executor implements training's executor port; it owns no tables.
  slurm: ['core', 'contracts', 'training'],
  // The SageMaker executor's launcher implements training's runner-launcher port; it owns no tables.
  sagemaker: ['core', 'contracts', 'training'],
  // Sweeps own their tables and run their trials as training jobs (through training's service).
  sweeps: ['core', 'contracts', 'db', 'training'],
  // The Python trainer SDK runs inside trainer processes; its only TypeScript is its integration test.
  'trainer-sdk-python': [],
};
// Test code (tests, test-fixtures, apps' test-support) may reach a little further.
const testOnlyLibDeps = {
  // libs/training/src/test-fixtures/orchestrator-harness.ts builds real snapshots to train on.
  training: ['datasets'],
  // libs/sync/src/sync.int.test.ts runs the registry's side (libs/exchange) in process as the other end.
  sync: ['exchange'],
  // libs/trainer-sdk-python/src/python-sdk.int.test.ts runs Python trainers under the orchestrator harness.
  'trainer-sdk-python': ['contracts', 'training'],
};
const libConstraints = (extra) =>
  Object.entries(libDeps).map(([lib, deps]) => ({
    sourceTag: `lib:${lib}`,
    onlyDependOnLibsWithTags: [...deps, ...(extra[lib] ?? [])].map((dep) => `lib:${dep}`),
  }));
const productionConstraints = [...depConstraints, ...libConstraints({})];
const testConstraints = [...depConstraints, ...libConstraints(testOnlyLibDeps)];

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/generated/**', 'tmp/**', '.nx/**', 'test-output/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: productionConstraints }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read process.env only in an app config module.' }],
    },
  },
  {
    // Tests and their support code may use the shared test services (real PostgreSQL, S3, server processes).
    files: ['**/*.test.ts', 'apps/*/src/test-support/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { enforceBuildableLibDependency: false, allow: ['@trainyard/test-services'], depConstraints: testConstraints },
      ],
    },
  },
  {
    // Libs' test fixtures are test code too (the extra lib edges), without the test services.
    files: ['libs/*/src/test-fixtures/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: testConstraints }],
    },
  },
  {
    files: [
      'apps/*/src/config.ts',
      'apps/*/src/**/*.config.ts',
      '**/*.test.ts',
      '**/test-fixtures/**/*.ts',
      'libs/trainers/src/**/main.ts',
      'apps/client-example/src/**/*.ts',
      'apps/*/src/test-support/**/*.ts',
      'tools/**/*.ts',
      'prisma.config.ts',
      'vitest.config.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Build configuration is tooling: it may use the repo's build helpers under tools/.
    files: ['**/vite.config.ts', 'vitest.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
  ...tseslint.configs.recommended.map((config) => ({ ...config, files: ['**/*.ts', '**/*.tsx'] })),
];
