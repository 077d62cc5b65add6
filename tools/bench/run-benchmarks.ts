import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { type BenchRow, formatTable } from './bench-row';
import { artifactsBench } from './artifacts.bench';
import { coldStartBench } from './cold-start.bench';
import { compareBench } from './compare.bench';
import { datasetsBench } from './datasets.bench';
import { idleMemoryBench } from './idle-memory.bench';
import { instancesBench } from './instances.bench';
import { onnxScoringBench } from './onnx-scoring.bench';
import { pytorchBench } from './pytorch.bench';
import { writeIntoDoc } from './docs-table';
import { registryBench } from './registry.bench';
import { reproduceBench } from './reproduce.bench';
import { slurmBench } from './slurm.bench';
import { sweepsBench } from './sweeps.bench';
import { syncBench } from './sync.bench';
import { syncDatasetsBench } from './sync-datasets.bench';
import { textDetectorBench } from './text-detector.bench';
import { trainingBench } from './training.bench';
import { uiBench } from './ui.bench';

const suites: Record<string, () => Promise<BenchRow[]>> = {
  'cold-start': coldStartBench,
  artifacts: artifactsBench,
  datasets: datasetsBench,
  'idle-memory': idleMemoryBench,
  registry: registryBench,
  training: trainingBench,
  'text-detector': textDetectorBench,
  'onnx-scoring': onnxScoringBench,
  pytorch: pytorchBench,
  sync: syncBench,
  'sync-datasets': syncDatasetsBench,
  instances: instancesBench,
  slurm: slurmBench,
  sweeps: sweepsBench,
  ui: uiBench,
  compare: compareBench,
  reproduce: reproduceBench,
};

const program = new Command()
  .name('bench')
  .description('Runs the benchmarks and prints a Markdown table (medians, ratios against a baseline measured in the same run)')
  .option('--only <names...>', `run only these suites: ${Object.keys(suites).join(', ')}`)
  .option('--write <page>', "also write the rows into that page's bench table (docs/performance.md), dated today")
  .parse();

const { only, write } = program.opts<{ only?: string[]; write?: string }>();
const unknown = (only ?? []).filter((name) => !(name in suites));
if (unknown.length > 0) program.error(`unknown suite(s): ${unknown.join(', ')} (known: ${Object.keys(suites).join(', ')})`);
const rows: BenchRow[] = [];
for (const [name, suite] of Object.entries(suites)) {
  if (only && !only.includes(name)) continue;
  process.stderr.write(`running ${name}…\n`);
  rows.push(...(await suite()));
}
console.log(formatTable(rows));
if (write) {
  writeFileSync(write, writeIntoDoc(readFileSync(write, 'utf8'), rows, new Date().toISOString().slice(0, 10)));
  process.stderr.write(`wrote ${rows.length} rows into ${write}\n`);
}
