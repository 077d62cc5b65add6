// Writes its whole environment to $TRAINYARD_JOB_DIR/env.json, then succeeds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRAINYARD_JOB_DIR;
writeFileSync(join(dir, 'env.json'), JSON.stringify(process.env));
mkdirSync(join(dir, 'output/model'), { recursive: true });
writeFileSync(join(dir, 'output/model/model.txt'), 'ok');
