import type { ImportReport } from '@trainyard/contracts';

/**
 * Streams a JSONL or CSV file to POST /import/training-data. XMLHttpRequest, not fetch: only
 * it reports upload progress. The session cookie authenticates; the browser adds Origin.
 */
export const uploadImport = (file: File, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<ImportReport> =>
  new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', '/import/training-data');
    request.setRequestHeader('content-type', file.name.toLowerCase().endsWith('.csv') ? 'text/csv' : 'application/x-ndjson');
    request.responseType = 'json';
    request.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
    request.onload = () => {
      const body = request.response as (ImportReport & { error?: { message?: string } }) | null;
      if (request.status === 200 && body) resolve(body);
      else reject(new Error(body?.error?.message ?? `Import failed with HTTP ${request.status}`));
    };
    request.onerror = () => reject(new Error('The server could not be reached; nothing after the last complete line was imported'));
    signal?.addEventListener('abort', () => request.abort());
    request.send(file);
  });
