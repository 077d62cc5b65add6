// Six epochs, each reporting val_loss and then a checkpoint file; the best val_loss is epoch 2's.
// Also writes a file of its own in checkpoints/ that it never reports.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRAINYARD_JOB_DIR;
const events = createWriteStream(null, { fd: 3 });
const emit = (event) => events.write(`${JSON.stringify(event)}\n`);
const losses = [0.9, 0.2, 0.5, 0.6, 0.7, 0.8];
mkdirSync(join(dir, 'checkpoints'), { recursive: true });
writeFileSync(join(dir, 'checkpoints/notes.txt'), 'mine');
for (const [i, loss] of losses.entries()) {
  const epoch = i + 1;
  emit({ type: 'metric', name: 'val_loss', step: epoch, value: loss });
  writeFileSync(join(dir, `checkpoints/epoch-${epoch}.bin`), `weights after epoch ${epoch}`);
  emit({ type: 'checkpoint', path: `checkpoints/epoch-${epoch}.bin`, step: epoch });
}
mkdirSync(join(dir, 'output/model'), { recursive: true });
writeFileSync(join(dir, 'output/model/model.bin'), 'final');
events.end(() => process.exit(0));
