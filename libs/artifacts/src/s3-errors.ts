/** S3 says the key (or object) is not there: HEAD answers a bare 404, GET names NoSuchKey. */
export const isS3NotFound = (error: unknown): boolean => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
};
