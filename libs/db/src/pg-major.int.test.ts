import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintDir } from '@trainyard/test-services';
import { openDatabase } from './database';
import { bundledPgMajor } from './pg-major';

const root = mkdtempSync(join(tmpdir(), 'trainyard-pg-major-'));
const original = join(root, 'original');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fingerprint = fingerprintDir;

describe('a data dir written by another PostgreSQL major', () => {
  beforeAll(async () => {
    const db = await openDatabase({ kind: 'pglite', dataDir: original });
    await db.migrate();
    await db.sql.query(`CREATE TABLE keepsake (note text)`);
    await db.sql.query(`INSERT INTO keepsake VALUES ('still here')`);
    await db.close();
  }, 60_000);

  it('the bundled major is the one a fresh data dir is written with', async () => {
    expect(readFileSync(join(original, 'PG_VERSION'), 'utf8').trim()).toBe(await bundledPgMajor());
  });

  it('is remembered per PGlite version, so opening an existing data dir never waits for a template build', async () => {
    const cacheDir = join(root, 'cache');
    const major = await bundledPgMajor(cacheDir);
    expect(major).toBe(readFileSync(join(original, 'PG_VERSION'), 'utf8').trim());
    const [marker, ...others] = readdirSync(cacheDir);
    expect(others).toEqual([]);
    expect(marker).toMatch(/^pg-major-\d+\.\d+\.\d+/);
    // From now on the marker answers, whatever templates there are (a new migration changes their key, not the major).
    writeFileSync(join(cacheDir, marker ?? ''), 'remembered\n');
    expect(await bundledPgMajor(cacheDir)).toBe('remembered');
  }, 60_000);

  it.each([-1, 1])(
    'is refused (major %+d) with both majors and the backup/restore steps, and nothing in it changes',
    async (offset) => {
      const bundled = await bundledPgMajor();
      const other = String(Number(bundled) + offset);
      const copy = join(root, `major-${other}`);
      cpSync(original, copy, { recursive: true });
      writeFileSync(join(copy, 'PG_VERSION'), `${other}\n`);
      const before = fingerprint(copy);
      const opening = openDatabase({ kind: 'pglite', dataDir: copy });
      await expect(opening).rejects.toThrow(
        `was written by PostgreSQL ${other}, but this Trainyard's PGlite is PostgreSQL ${bundled}; it was not opened and nothing in it was changed`,
      );
      await expect(opening).rejects.toThrow(/trainyard backup <file> --data-dir <its data dir>.*trainyard restore <file> --data-dir <a new, empty dir>/);
      await expect(opening).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', details: { found: other, bundled } });
      expect(fingerprint(copy)).toEqual(before);

      // Untouched indeed: put the right major back and the data is all there.
      writeFileSync(join(copy, 'PG_VERSION'), `${bundled}\n`);
      const db = await openDatabase({ kind: 'pglite', dataDir: copy });
      try {
        expect(await db.sql.query(`SELECT note FROM keepsake`)).toEqual([{ note: 'still here' }]);
      } finally {
        await db.close();
      }
    },
    60_000,
  );
});
