import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@trainyard/test-services';
import { useLocalTestServer } from './test-support/local-test-server';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const clientDir = join(repoRoot, 'libs/client');

/** An app outside the monorepo: it knows `@trainyard/client` only as an installed package. */
const CONSUMER = `import { createTrainyardClient, trainyardErrorInfo, type TrainyardClient, type TrainyardOutputs } from '@trainyard/client';

type ModelPage = TrainyardOutputs['models']['list'];

// Never called: the compiler alone checks these lines. Were the types \`any\`, each
// expected error below would not happen, and an unused directive is an error too.
export async function typesAreReal(client: TrainyardClient): Promise<void> {
  // @ts-expect-error models.list takes no such field
  await client.models.list.query({ bogusField: 1 });
  const page: ModelPage = await client.models.list.query({ limit: 5 });
  // @ts-expect-error a model in the list has no such field
  console.log(page.items[0]?.nonexistentField);
  // @ts-expect-error latestVersion is a number
  const wrong: string = page.items[0]!.latestVersion;
  // @ts-expect-error scoring needs the texts
  await client.models.score.query({ model: 'm' });
  console.log(wrong);
}

const [url = '', token = ''] = process.argv.slice(2);
const client = createTrainyardClient({ url, token, queryAttempts: 1 });
try {
  const page = await client.models.list.query({ limit: 20 });
  const names: string[] = page.items.map((model) => model.name);
  const latest: number | undefined = page.items[0]?.latestVersion;
  console.log(JSON.stringify({ names, latest }));
} catch (error) {
  console.log(JSON.stringify({ error: trainyardErrorInfo(error).message }));
}
`;

/** The client's dependencies (and what the consumer compiles with), linked from the monorepo: no network. */
const LINKED = ['@trpc/client', '@trpc/server', 'eventsource', 'superjson', 'zod', 'typescript', '@types/node'];

const t = useLocalTestServer();
let work = '';
let consumerDir = '';
let compilerOutput = '';

beforeAll(async () => {
  // The package exactly as another project gets it: built, packed, unpacked into its node_modules.
  await run('npm', ['run', '--silent', 'build:client'], { cwd: repoRoot });
  work = mkdtempSync(join(tmpdir(), 'trainyard-client-package-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: clientDir });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!packed) throw new Error(`npm pack said: ${stdout}`);
  expect(packed.files.map((file) => file.path).sort()).toEqual(['README.md', 'dist/index.d.ts', 'dist/index.js', 'dist/index.js.map', 'package.json']);

  consumerDir = join(work, 'other-project');
  const installed = join(consumerDir, 'node_modules/@trainyard/client');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', join(work, packed.filename), '-C', installed, '--strip-components=1']);
  for (const name of LINKED) {
    mkdirSync(dirname(join(consumerDir, 'node_modules', name)), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules', name), join(consumerDir, 'node_modules', name), 'dir');
  }
  writeFileSync(join(consumerDir, 'package.json'), JSON.stringify({ name: 'other-project', private: true, type: 'module' }));
  writeFileSync(
    join(consumerDir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'Node16', moduleResolution: 'Node16', strict: true, types: ['node'], outDir: 'build', skipLibCheck: false },
      files: ['consumer.ts'],
    }),
  );
  writeFileSync(join(consumerDir, 'consumer.ts'), CONSUMER);
  // Emits build/consumer.js; any type error (or an unused @ts-expect-error) is printed.
  compilerOutput = await run(process.execPath, [join(consumerDir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: consumerDir }).then(
    ({ stdout }) => stdout,
    (error: { stdout?: string; message: string }) => error.stdout || error.message,
  );
  await t.client.models.register.mutate({ name: 'package-model' });
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const consume = async (url: string, token: string): Promise<{ names?: string[]; error?: string }> => {
  const { stdout } = await run(process.execPath, ['build/consumer.js', url, token], { cwd: consumerDir });
  return JSON.parse(stdout) as { names?: string[]; error?: string };
};

describe('@trainyard/client as a package another project installs', () => {
  it('declares the runtime dependencies with the versions the monorepo uses', () => {
    const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const client = JSON.parse(readFileSync(join(consumerDir, 'node_modules/@trainyard/client/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const [name, version] of Object.entries(client.dependencies)) expect(version, name).toBe(root.dependencies[name]);
    // Its declarations name no monorepo module: everything from the server's router is inlined.
    const declarations = readFileSync(join(consumerDir, 'node_modules/@trainyard/client/dist/index.d.ts'), 'utf8');
    expect(declarations).not.toMatch(/from '@trainyard\/|import\("@trainyard\/|libs\//);
    expect(declarations).toMatch(/^import .* from '@trpc\/client';$/m);
    expect(readdirSync(join(consumerDir, 'node_modules/@trainyard/client/dist'))).toContain('index.js');
  });

  it('type-checks a consumer with strict settings (no skipLibCheck): correct calls compile, wrong fields do not', () => {
    expect(compilerOutput).toBe('');
  });

  it('runs against a real server, and says plainly when the token is wrong or the server unreachable', async () => {
    expect(await consume(t.server.url, t.server.token)).toMatchObject({ names: ['package-model'] });
    expect(await consume(t.server.url, 'wrong-token')).toEqual({ error: 'The server refused the token (HTTP 401)' });
    // A port nothing listens on.
    const closed = `http://127.0.0.1:${await freePort()}`;
    expect(await consume(closed, t.server.token)).toEqual({ error: `Could not reach the Trainyard server at ${closed} (ECONNREFUSED)` });
  });
});
