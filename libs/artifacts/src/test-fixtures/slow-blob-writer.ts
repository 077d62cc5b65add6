// A process that is killed while it writes a blob (fs-blob-store.faults.int.test.ts).
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createFsBlobStore } from '../fs-blob-store';

const store = await createFsBlobStore(process.argv[2] ?? '');
const endless = new Readable({
  read() {
    setTimeout(() => {
      this.push(randomBytes(64 * 1024));
      process.stdout.write('.');
    }, 5);
  },
});
await store.put(endless);
