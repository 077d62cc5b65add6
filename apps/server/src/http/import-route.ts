import { type ImportFormat, importTrainingData } from '@trainyard/datasets';
import type { Database } from '@trainyard/db';
import { isBodyTooLarge, requestBody, type Route, sendJson } from './http-host';

const FORMATS: Record<string, ImportFormat> = { 'application/x-ndjson': 'jsonl', 'text/csv': 'csv' };

/** POST /import/training-data: a JSONL or CSV file streamed in; answers with the import report. */
export const importRoute = (database: Database, maxBytes: number): Route => ({
  prefix: '/import/',
  scopeFor: () => 'write',
  bodyTypes: Object.keys(FORMATS),
  maxBodyBytes: maxBytes,
  async handle(request, response) {
    if ((request.url ?? '').split('?')[0] !== '/import/training-data') return sendJson(response, 404, { error: { message: 'Not found' } });
    if (request.method !== 'POST') return sendJson(response, 405, { error: { message: 'Use POST' } });
    const format = FORMATS[(request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''];
    if (!format) return sendJson(response, 415, { error: { message: 'Send application/x-ndjson or text/csv' } });
    const body = requestBody(request);
    const report = await importTrainingData(database.sql, body, format);
    if (isBodyTooLarge(body.errored)) {
      // A chunked body over the limit: reading stopped there. Like any cut-off import, complete
      // lines read before it are kept (imports are incremental); the report says which.
      response.setHeader('connection', 'close');
      return sendJson(response, 413, { error: { code: 'PAYLOAD_TOO_LARGE', message: `Request body larger than ${maxBytes} bytes` }, report });
    }
    sendJson(response, 200, report);
  },
});
