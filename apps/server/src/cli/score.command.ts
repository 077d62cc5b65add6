import { readFile } from 'node:fs/promises';
import { scoreBatches } from '@trainyard/contracts';
import type { Command } from 'commander';
import { CliError } from './cli-error';
import type { GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { parseModelRef } from './model-ref';
import { printJson, printLine, printTable } from './output';
import { withConnection } from './run-action';

const readTexts = async (file: string): Promise<string[]> => {
  const content = await readFile(file, 'utf8').catch(() => {
    throw new CliError(`Cannot read ${file}`, EXIT.USAGE);
  });
  return content.split(/\r?\n/).filter((line) => line.trim() !== '');
};

const preview = (text: string): string => (text.length > 60 ? `${text.slice(0, 57)}…` : text);

/** Why this version scored: "active", "latest; no active version", or the ref asked for ("@champion", "@3"). */
export const scoredWithLine = (result: { model: string; version: number; chosenBy: 'ref' | 'active' | 'latest' }, asked?: string): string => {
  const why = result.chosenBy === 'active' ? 'active' : result.chosenBy === 'latest' ? 'latest; no active version' : `@${asked ?? 'ref'}`;
  return `Scored with ${result.model} v${result.version} (${why})`;
};

export const registerScoreCommand = (program: Command): void => {
  program
    .command('score')
    .argument('[texts...]', 'texts to score')
    .requiredOption('--model <ref>', 'NAME, NAME@VERSION or NAME@ALIAS (NAME alone: the active version, else the latest)')
    .option('--file <file>', 'score each non-empty line of this file')
    .option('--json', 'print JSON')
    .description('detection scores: probability (0..1) that each text is machine-written')
    .action((texts: string[], _options, command: Command) =>
      withConnection<GlobalOptions & { model: string; file?: string }>(command, async ({ client }, options) => {
        const all = [...texts, ...(options.file ? await readTexts(options.file) : [])];
        if (all.length === 0) throw new CliError('Nothing to score: give texts as arguments or --file FILE', EXIT.USAGE);
        const { model, ref } = parseModelRef(options.model);
        const asked = options.model.includes('@') ? options.model.slice(options.model.indexOf('@') + 1) : undefined;
        // No ref: the server scores with the active version, or the latest when none is active. More texts than
        // one call takes go in several calls, all to the version the first one used.
        const [first = [], ...rest] = scoreBatches(all);
        const result = await client.models.score.query({ model, ...(asked === undefined ? {} : { ref }), texts: first });
        for (const texts of rest) {
          result.scores.push(...(await client.models.score.query({ model, ref: { version: result.version }, texts })).scores);
        }
        if (options.json) return printJson({ ...result, texts: all });
        printLine(scoredWithLine(result, asked));
        printTable(
          [`score (${result.model} v${result.version})`, 'text'],
          result.scores.map((score, index) => [score.toFixed(4), preview(all[index] ?? '')]),
        );
      }),
    );
};
