import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact';

describe('redactSecrets', () => {
  it('replaces every occurrence of each secret, longest first, and leaves short values alone', () => {
    const token = 'tyj_abcdefghijklmnopqrstuvwxyz0123456789';
    const message = `Value '{TRAINYARD_JOB_TOKEN=${token}, WANDB_API_KEY=key-12345678, N=1}' at 'environment' failed; ${token}`;
    expect(redactSecrets(message, [token, 'key-12345678', '1', undefined])).toBe(
      "Value '{TRAINYARD_JOB_TOKEN=[redacted], WANDB_API_KEY=[redacted], N=1}' at 'environment' failed; [redacted]",
    );
  });
});
