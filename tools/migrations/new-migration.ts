// Authors a migration offline:   npm run db:migration -- <snake_case_name>
//
// `prisma migrate dev` replays committed migrations into a shadow database, which the PGlite
// driver adapter cannot do for multi-statement scripts. Migrations and schema are committed
// together, so the schema as of the last commit that touched prisma/migrations is exactly
// what the committed migrations produce; Prisma diffs it against the working schema with no
// database at all.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';

const name = new Command().argument('<name>', 'snake_case description, e.g. add_dataset_snapshots').parse().processedArgs[0] as string;
if (!/^[a-z0-9_]{1,80}$/.test(name)) throw new Error('Migration name must be snake_case (a-z, 0-9, _)');

const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8' }).trim();
const base = git('log', '-1', '--format=%H', '--', 'prisma/migrations');
if (!base) throw new Error('No committed migration found to diff from');
if (git('status', '--porcelain', '--', 'prisma/migrations')) {
  throw new Error('prisma/migrations has uncommitted changes; commit each migration together with its schema first');
}

mkdirSync('tmp', { recursive: true });
const previous = join('tmp', `schema-at-${base.slice(0, 12)}.prisma`);
writeFileSync(previous, git('show', `${base}:prisma/schema.prisma`));
try {
  const sql = execFileSync(
    process.execPath,
    ['node_modules/prisma/build/index.js', 'migrate', 'diff', '--from-schema-datamodel', previous, '--to-schema-datamodel', 'prisma/schema.prisma', '--script'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (!/\b(CREATE|ALTER|DROP)\b/.test(sql)) {
    console.log('prisma/schema.prisma matches the committed migrations; nothing to write.');
  } else {
    const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const dir = join('prisma', 'migrations', `${stamp}_${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'migration.sql'), sql);
    console.log(`Wrote ${join(dir, 'migration.sql')}; commit it together with prisma/schema.prisma.`);
  }
} finally {
  rmSync(previous, { force: true });
}
