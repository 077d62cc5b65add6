// Runs after `npm install`: builds the initialised PGlite cluster once, so the first
// `npm start` and every test database open in well under a second.
import { loadMigrations, pgliteTemplate } from '@trainyard/db';

const started = Date.now();
await pgliteTemplate(await loadMigrations());
console.log(`PGlite template ready (${Date.now() - started} ms)`);
