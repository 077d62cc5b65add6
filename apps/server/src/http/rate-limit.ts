/**
 * Token buckets, one per key (an API token's id): `perSecond` requests sustained, up to `burst`
 * at once. Per server instance — several shared-server instances behind a balancer each allow this.
 */
export interface RateLimiter {
  /** 0 when the request may go ahead (its cost is taken); otherwise the seconds to wait before retrying. */
  take(key: string, cost?: number): number;
}

export const createRateLimiter = (options: { perSecond: number; burst: number; now?: () => number }): RateLimiter => {
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refill = (bucket: { tokens: number; at: number }, time: number): void => {
    bucket.tokens = Math.min(options.burst, bucket.tokens + ((time - bucket.at) / 1_000) * options.perSecond);
    bucket.at = time;
  };
  return {
    take(key, cost = 1) {
      const time = now();
      // Buckets that have refilled carry no state worth keeping; sweep them when many are held.
      if (buckets.size > 10_000) {
        for (const [id, bucket] of buckets) {
          refill(bucket, time);
          if (bucket.tokens >= options.burst) buckets.delete(id);
        }
      }
      let bucket = buckets.get(key);
      if (!bucket) buckets.set(key, (bucket = { tokens: options.burst, at: time }));
      refill(bucket, time);
      const needed = Math.min(cost, options.burst);
      if (bucket.tokens >= needed) {
        bucket.tokens -= needed;
        return 0;
      }
      return Math.max(1, Math.ceil((needed - bucket.tokens) / options.perSecond));
    },
  };
};
