import type { Command } from 'commander';
import { CliError } from './cli-error';
import type { GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { parseModelRef } from './model-ref';
import { formatNumber, formatTime, printJson, printLine, printTable } from './output';
import { withConnection } from './run-action';

const toNumber = (value: string): number => Number(value);

const positiveInteger = (value: string, what: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new CliError(`${what} must be a positive whole number, got "${value}"`, EXIT.USAGE);
  return Number(value);
};

const metricsText = (metrics: Record<string, number>): string =>
  Object.entries(metrics)
    .slice(0, 4)
    .map(([name, value]) => `${name}=${formatNumber(value)}`)
    .join(' ');

/** What a version made elsewhere says about its snapshot's data: sent with it, or withheld (and by whom). */
const datasetLine = (provenance: unknown): string | undefined => {
  const dataset = (provenance as { dataset?: { snapshotId?: string; data?: string; withheldBy?: string | null } } | null)?.dataset;
  if (!dataset?.snapshotId) return undefined;
  const by = dataset.withheldBy === 'server' ? ' by the shared server' : dataset.withheldBy === 'pusher' ? ' by the pusher' : '';
  return `Dataset snapshot ${dataset.snapshotId}: data ${dataset.data === 'included' ? 'included' : `withheld${by}`}`;
};

export const registerModelCommands = (program: Command): void => {
  const models = program.command('models').description('the model registry: versions, aliases, lineage');
  models
    .command('list')
    .option('--tag <tag>', 'only models with this tag')
    .option('--limit <n>', 'how many', toNumber, 50)
    .option('--json', 'print JSON')
    .description('list registered models')
    .action((_options, command: Command) =>
      withConnection<GlobalOptions & { tag?: string; limit: number }>(command, async ({ client }, options) => {
        const page = await client.models.list.query({ limit: options.limit, ...(options.tag ? { tag: options.tag } : {}) });
        if (options.json) return printJson(page);
        printTable(
          ['name', 'latest', 'active', 'tags', 'updated'],
          page.items.map((m) => [m.name, m.latestVersion, m.activeVersion, m.tags.join(','), formatTime(m.updatedAt)]),
        );
      }),
    );
  models
    .command('show')
    .argument('<ref>', 'NAME, NAME@VERSION or NAME@ALIAS (default: the active version, else latest)')
    .option('--json', 'print JSON')
    .description('a model and one of its versions')
    .action((text: string, _options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const { model, ref } = parseModelRef(text, { alias: 'latest' });
        const record = await client.models.get.query({ model });
        const version =
          record.latestVersion > 0
            ? await client.models.getVersion.query({ model, ref: text.includes('@') ? ref : record.activeVersion ? { alias: 'active' } : { alias: 'latest' } })
            : null;
        if (options.json) return printJson({ model: record, version });
        printLine(`${record.name}: ${record.description || '(no description)'}; ${record.latestVersion} version(s), active ${record.activeVersion ?? 'none'}`);
        if (version) {
          printLine(
            `Version ${version.version} (${version.aliases.join(', ') || 'no aliases'})${version.active ? ' [active]' : ''}, created ${formatTime(version.createdAt)}`,
          );
          printLine(`Metrics: ${JSON.stringify(version.metrics)}`);
          printLine(`Artifacts: ${version.artifactCount} (trainyard artifacts list --model ${record.name}@${version.version})`);
          if (version.validation) printLine(`Validation: ${JSON.stringify(version.validation)}`);
          if (version.trainingJobId) printLine(`Trained by job ${version.trainingJobId} on snapshot ${version.datasetSnapshotId ?? '(none)'}`);
          const dataset = datasetLine(version.provenance);
          if (dataset) printLine(dataset);
        }
      }),
    );
  models
    .command('versions')
    .argument('<model>', 'model name')
    .option('--limit <n>', 'how many', toNumber, 50)
    .option('--json', 'print JSON')
    .description("a model's versions, newest first")
    .action((model: string, _options, command: Command) =>
      withConnection<GlobalOptions & { limit: number }>(command, async ({ client }, options) => {
        const page = await client.models.listVersions.query({ model, limit: options.limit });
        if (options.json) return printJson(page);
        printTable(
          ['version', 'aliases', 'active', 'metrics', 'created'],
          page.items.map((v) => [v.version, v.aliases.join(','), v.active ? 'yes' : '', metricsText(v.metrics), formatTime(v.createdAt)]),
        );
      }),
    );
  models
    .command('alias')
    .argument('<model>', 'model name')
    .argument('<alias>', 'alias, e.g. champion')
    .argument('<version>', 'version number')
    .option('--override <reason>', 'move the alias even if a gate fails (recorded)')
    .option('--json', 'print JSON')
    .description('point an alias at a version')
    .action((model: string, alias: string, version: string, _options, command: Command) =>
      withConnection<GlobalOptions & { override?: string }>(command, async ({ client }, options) => {
        const result = await client.models.setAlias.mutate({
          model,
          alias,
          version: positiveInteger(version, 'VERSION'),
          ...(options.override ? { override: { reason: options.override } } : {}),
        });
        if (options.json) return printJson(result);
        printLine(`${model}@${alias} → version ${version}`);
      }),
    );
  models
    .command('activate')
    .argument('<model>', 'model name')
    .argument('<version>', 'version number, or "none"')
    .option('--json', 'print JSON')
    .description('make a version the one `score` uses by default')
    .action((model: string, version: string, _options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const result = await client.models.setActive.mutate({ model, version: version === 'none' ? null : positiveInteger(version, 'VERSION') });
        if (options.json) return printJson(result);
        printLine(`${model}: active version ${version}`);
      }),
    );
  models
    .command('delete-version')
    .argument('<ref>', 'NAME@VERSION')
    .option('--json', 'print JSON')
    .description(
      'delete a version for good (refused while aliases, the active selection, child versions or jobs use it); its files go at the next garbage collection',
    )
    .action((text: string, _options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const { model, ref } = parseModelRef(text, { alias: 'latest' });
        if (!('version' in ref)) throw new CliError('Name the version by number: NAME@VERSION', EXIT.USAGE);
        const deleted = await client.models.deleteVersion.mutate({ model, version: ref.version });
        if (options.json) return printJson(deleted);
        printLine(`Deleted ${deleted.model} version ${deleted.version} (${deleted.artifactsDeleted} artifact record(s))`);
      }),
    );
  models
    .command('lineage')
    .argument('<model>', 'model name')
    .option('--version <n>', 'only this version', toNumber)
    .option('--json', 'print JSON')
    .description('snapshots, jobs, versions and artifacts behind a model')
    .action((model: string, _options, command: Command) =>
      withConnection<GlobalOptions & { version?: number }>(command, async ({ client }, options) => {
        const graph = await client.models.lineage.query({ model, ...(options.version ? { version: options.version } : {}) });
        if (options.json) return printJson(graph);
        const label = new Map(graph.nodes.map((node) => [node.id, `${node.kind} ${node.label}`]));
        for (const edge of graph.edges) printLine(`${label.get(edge.from) ?? edge.from} --${edge.kind}--> ${label.get(edge.to) ?? edge.to}`);
        if (graph.edges.length === 0) printLine('(no lineage recorded)');
      }),
    );
};
