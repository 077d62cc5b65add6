/**
 * A platform's error message with the values we sent it that must not be shown replaced: cloud
 * APIs echo offending values back (AWS's ValidationException quotes them), and the message
 * becomes the job's error, which any token that may read jobs sees.
 */
export const redactSecrets = (message: string, secrets: ReadonlyArray<string | undefined>): string =>
  secrets
    // Short values (say "1") would mangle the message and are no credentials.
    .filter((secret): secret is string => secret !== undefined && secret.length >= 8)
    .sort((a, b) => b.length - a.length)
    .reduce((text, secret) => text.split(secret).join('[redacted]'), message);
