import { rawRequest } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';

const t = useLocalTestServer();

describe('local training path, end to end through the typed client', () => {
  it('import → snapshot → text-detector job → live progress → gate → version with lineage → alias/active → score', async () => {
    const body = syntheticPairs(800, 21)
      .map((pair) => JSON.stringify(pair))
      .join('\n');
    const imported = await rawRequest(`${t.server.url}/import/training-data`, {
      method: 'POST',
      headers: { host: `127.0.0.1:${t.server.port}`, authorization: `Bearer ${t.server.token}`, 'content-type': 'application/x-ndjson' },
      body,
    });
    expect(JSON.parse(imported.body)).toMatchObject({ imported: 800, rejected: [] });
    const snapshot = await t.client.datasets.createSnapshot.mutate({ name: 'synthetic-800', validationFraction: 0.2, seed: 1 });

    const job = await t.client.jobs.create.mutate({
      name: 'detector-e2e',
      datasetSnapshotId: snapshot.id,
      trainer: { kind: 'builtin', name: 'text-detector' },
      hyperparameters: { epochs: 3, hashBits: 16 },
      targetModel: 'ai-detector',
      validation: [{ metric: 'val_accuracy', op: '>=', value: 0.9 }],
    });
    const seen: string[] = [];
    const final = await new Promise<string>((resolve, reject) => {
      const subscription = t.client.jobs.events.subscribe(
        { id: job.id },
        {
          onData(event) {
            seen.push(event.type);
            if (event.type === 'status' && ['succeeded', 'failed', 'cancelled'].includes(event.status)) {
              subscription.unsubscribe();
              resolve(event.status);
            }
          },
          onError: reject,
        },
      );
    });
    expect(final).toBe('succeeded');
    expect(seen).toContain('progress');

    const version = await t.client.models.getVersion.query({ model: 'ai-detector', ref: { alias: 'latest' } });
    expect(version).toMatchObject({ version: 1, trainingJobId: job.id, datasetSnapshotId: snapshot.id });
    expect(version.validation).toMatchObject({ create: { passed: true } });
    const lineage = await t.client.models.lineage.query({ model: 'ai-detector' });
    expect(lineage.nodes.map((n) => n.kind).sort()).toEqual(['artifact', 'artifact', 'job', 'snapshot', 'version']);

    await t.client.models.setAlias.mutate({ model: 'ai-detector', alias: 'champion', version: 1 });
    await t.client.models.setActive.mutate({ model: 'ai-detector', version: 1 });
    const [unseen] = syntheticPairs(1, 12345);
    const scored = await t.client.models.score.query({ model: 'ai-detector', texts: [unseen?.aiText ?? '', unseen?.humanizedText ?? ''] });
    expect(scored.version).toBe(1);
    expect(scored.scores[0]).toBeGreaterThan(0.5);
    expect(scored.scores[1]).toBeLessThan(0.5);
    const byAlias = await t.client.models.score.query({
      model: 'ai-detector',
      ref: { alias: 'champion' },
      texts: ['Furthermore, it is important to note that this plays a pivotal role.'],
    });
    expect(byAlias.scores[0]).toBeGreaterThan(0.5);
  });
});
