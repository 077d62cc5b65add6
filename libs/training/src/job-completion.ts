import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { ArtifactService, BlobStore } from '@trainyard/artifacts';
import { ARTIFACT_TYPES, type ArtifactOutput, createVersionInput } from '@trainyard/contracts';
import { DomainError, isDomainError } from '@trainyard/core';
import type { StoredOutputs } from './local-executor';
import { evaluateGate, type GateReport, type GateRule, type ModelRegistryService, type ModelVersionService } from '@trainyard/registry';

export interface CompletionPorts {
  blobs: BlobStore;
  artifacts: ArtifactService;
  models: ModelRegistryService;
  versions: ModelVersionService;
}

export interface CompletedJob {
  id: string;
  name: string;
  targetModelName: string | null;
  datasetSnapshotId: string | null;
  parentVersionId: string | null;
  validation: GateRule[];
}

export type CompletionResult =
  { ok: true; modelVersionId: string | null; report: GateReport; artifactIds: string[] } | { ok: false; error: string; report: GateReport | null };

/** A file the trainer reported with an `artifact` event, and the kind it gave (an artifact type). */
export interface ReportedArtifact {
  path: string;
  kind?: string | undefined;
}

type ArtifactType = ArtifactOutput['type'];
const isArtifactType = (kind: string): kind is ArtifactType => (ARTIFACT_TYPES as readonly string[]).includes(kind);

const filesUnder = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
};

/** A path the trainer reported, accepted only if it is a regular file inside its job directory. */
const insideJobDir = async (jobDir: string, reported: string): Promise<string | undefined> => {
  const full = resolve(jobDir, reported);
  if (!full.startsWith(resolve(jobDir) + sep)) return undefined;
  const info = await lstat(full).catch(() => undefined);
  return info?.isFile() ? full : undefined;
};

/** Where a job's result files are: its job directory on this machine, or blobs a runner stored. */
interface ResultFiles {
  modelFiles(): Promise<string[]>;
  /** A reported path, if it names a result file (what `modelFiles` and `reported` return are handles for the other two). */
  reported(path: string): Promise<string | undefined>;
  sha256Of(file: string): Promise<string>;
  /** The artifact's name: its path relative to the job directory. */
  nameOf(file: string): string;
}

const localFiles = (blobs: BlobStore, jobDir: string): ResultFiles => ({
  modelFiles: () => filesUnder(join(jobDir, 'output', 'model')),
  reported: (path) => insideJobDir(jobDir, path),
  sha256Of: async (file) => (await blobs.put(createReadStream(file))).sha256,
  nameOf: (file) => relative(jobDir, file),
});

/** A runner's uploads: already verified blobs, named by their job-relative paths (never turned into paths on this machine). */
const storedFiles = (outputs: StoredOutputs): ResultFiles => ({
  modelFiles: async () => [...outputs.keys()].filter((path) => path.startsWith('output/model/')).sort(),
  reported: async (path) => (outputs.has(path) ? path : undefined),
  sha256Of: async (path) => outputs.get(path)?.sha256 ?? '',
  nameOf: (path) => path,
});

/**
 * After a successful exit: every file in output/model/, each reported checkpoint and each file
 * reported with an `artifact` event (typed by its kind) becomes an artifact linked to the job;
 * the validation rules are checked against the final metrics; if they pass and the job targets
 * a model, a version is created with its lineage, holding the model files and the reported
 * artifacts (checkpoints stay with the job).
 */
export const completeJob = async (
  ports: CompletionPorts,
  job: CompletedJob,
  jobDir: string,
  finalMetrics: Record<string, number>,
  reportedCheckpoints: readonly string[],
  warn: (message: string) => void,
  reportedArtifacts: readonly ReportedArtifact[] = [],
  /** The run's files as blobs already stored (a runner uploaded them), instead of files in `jobDir`. */
  storedOutputs?: StoredOutputs,
): Promise<CompletionResult> => {
  const files = storedOutputs ? storedFiles(storedOutputs) : localFiles(ports.blobs, jobDir);
  const register = async (file: string, type: ArtifactType): Promise<string> => {
    const artifact = await ports.artifacts.register({
      sha256: await files.sha256Of(file),
      name: files.nameOf(file),
      type,
      mediaType: file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      trainingJobId: job.id,
      metadata: {},
    });
    return artifact.id;
  };
  const modelArtifacts: string[] = [];
  const modelFiles = await files.modelFiles();
  for (const file of modelFiles) modelArtifacts.push(await register(file, 'model'));
  const checkpointArtifacts: string[] = [];
  for (const reported of new Set(reportedCheckpoints)) {
    const file = await files.reported(reported);
    if (file) checkpointArtifacts.push(await register(file, 'checkpoint'));
    else warn(`checkpoint ${reported} is not a file inside the job directory; not kept`);
  }
  // Files reported with `artifact` events go with the version, typed by their kind (once each;
  // a file already kept from output/model/ is not registered twice).
  const kept = new Set(modelFiles);
  const extraArtifacts: string[] = [];
  for (const reported of reportedArtifacts) {
    const file = await files.reported(reported.path);
    if (!file) {
      warn(`artifact ${reported.path} is not a file inside the job directory; not kept`);
      continue;
    }
    if (kept.has(file)) continue;
    kept.add(file);
    const kind = reported.kind ?? 'metadata';
    if (!isArtifactType(kind))
      warn(`artifact ${reported.path} has an unknown kind ${JSON.stringify(kind)} (one of ${ARTIFACT_TYPES.join(', ')}); kept as metadata`);
    extraArtifacts.push(await register(file, isArtifactType(kind) ? kind : 'metadata'));
  }
  const artifactIds = [...modelArtifacts, ...checkpointArtifacts, ...extraArtifacts];

  if (!job.targetModelName) {
    const report = evaluateGate(job.validation, finalMetrics, {});
    return report.passed ? { ok: true, modelVersionId: null, report, artifactIds } : { ok: false, error: 'validation gate failed', report };
  }
  await ports.models.get(job.targetModelName).catch(async (error: unknown) => {
    if (!isDomainError(error) || error.code !== 'NOT_FOUND') throw error;
    await ports.models
      .register({ name: job.targetModelName ?? '', description: `Created by training job ${job.name}`, tags: [], metadata: {} }, 'orchestrator')
      .catch(() => undefined);
  });
  const [parentNumber] = job.parentVersionId ? await ports.versions.numbersOf([job.parentVersionId]) : [];
  const parent = parentNumber ? { model: parentNumber.model, version: parentNumber.version } : undefined;
  try {
    const version = await ports.versions.create(
      createVersionInput.parse({
        model: job.targetModelName,
        description: `Trained by job ${job.name}`,
        metrics: finalMetrics,
        trainingJobId: job.id,
        datasetSnapshotId: job.datasetSnapshotId ?? undefined,
        parentVersion: parent,
        artifactIds: [...modelArtifacts, ...extraArtifacts],
        gate: job.validation,
      }),
      'orchestrator',
    );
    return { ok: true, modelVersionId: version.id, report: (version.validation as { create: GateReport }).create, artifactIds };
  } catch (error) {
    if (error instanceof DomainError && error.details['validation']) {
      return { ok: false, error: error.message, report: error.details['validation'] as GateReport };
    }
    throw error;
  }
};
