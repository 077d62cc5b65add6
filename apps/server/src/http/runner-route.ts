import { text } from 'node:stream/consumers';
import { isDomainError, type Logger } from '@trainyard/core';
import { MAX_RECORDS_BATCH_BYTES, RUNNER_ROUTE_PREFIX, type RunnerHub, runnerFinish, runnerOutputs, runnerRecordsBatch } from '@trainyard/training';
import type { z } from 'zod';
import { principalOf, requestBody, type Route, sendDomainError, sendJson } from './http-host';

// Matched against the raw request target: a job id (UUID) and one of four fixed actions, nothing else.
const RUNNER_PATH = /^\/runner\/jobs\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/(inputs|records|outputs|finish)$/;

const readJson = async <T extends z.ZodType>(request: Parameters<Route['handle']>[0], schema: T): Promise<z.infer<T> | { invalid: string }> => {
  let json: unknown;
  try {
    json = JSON.parse(await text(requestBody(request)));
  } catch (error) {
    if (isDomainError(error)) throw error;
    return { invalid: 'The body is not JSON' };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : { invalid: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') };
};

const isInvalid = (value: unknown): value is { invalid: string } => typeof value === 'object' && value !== null && 'invalid' in value;

/**
 * The runner routes (docs/runner.md): `GET inputs`, `POST records`, `POST outputs`, `POST finish`
 * under `/runner/jobs/<job id>/`. Only a job token may call them, and only for the job and
 * attempt it was minted for; the attempt this server follows answers (libs/training runner-hub.ts).
 */
export const runnerRoute = (hub: RunnerHub, logger: Logger): Route => ({
  prefix: RUNNER_ROUTE_PREFIX,
  bodyTypes: ['application/json'],
  maxBodyBytes: MAX_RECORDS_BATCH_BYTES,
  acceptsJobTokens: true,
  async handle(request, response) {
    const job = principalOf(request).job;
    if (!job) return sendJson(response, 403, { error: { message: 'The runner routes take a job token only' } });
    const match = RUNNER_PATH.exec(request.url ?? '');
    if (!match?.[1] || !match[2]) return sendJson(response, 404, { error: { message: 'Not found' } });
    if (match[1] !== job.jobId) return sendJson(response, 403, { error: { message: 'This job token is for another job' } });
    const caller = { jobId: job.jobId, attempt: job.attempt };
    const action = match[2];
    const method = action === 'inputs' ? 'GET' : 'POST';
    if (request.method !== method) {
      response.setHeader('allow', method);
      return sendJson(response, 405, { error: { message: 'Method not allowed' } });
    }
    try {
      if (action === 'inputs') return sendJson(response, 200, await hub.inputs(caller));
      if (action === 'records') {
        const body = await readJson(request, runnerRecordsBatch);
        if (isInvalid(body)) return sendJson(response, 400, { error: { message: body.invalid } });
        return sendJson(response, 200, await hub.records(caller, body.records));
      }
      if (action === 'outputs') {
        const body = await readJson(request, runnerOutputs);
        if (isInvalid(body)) return sendJson(response, 400, { error: { message: body.invalid } });
        return sendJson(response, 200, await hub.outputs(caller, body.files));
      }
      const body = await readJson(request, runnerFinish);
      if (isInvalid(body)) return sendJson(response, 400, { error: { message: body.invalid } });
      await hub.finish(caller, body);
      return sendJson(response, 200, { ok: true });
    } catch (error) {
      if (isDomainError(error)) return sendDomainError(response, error);
      logger.error({ err: error, jobId: job.jobId }, 'runner route failed');
      throw error;
    }
  },
});
