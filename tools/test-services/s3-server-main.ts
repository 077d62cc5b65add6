// Runs the S3 test server in its own process (benchmarks must not share an event loop with it).
import { startS3Server } from './s3-server';

const server = await startS3Server(process.argv[2] ?? 'bench');
process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint, bucket: server.bucket, directory: server.directory })}\n`);
const stop = (): void => void server.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
