// Starts @20minutes/s3rver 4.0.4 (an S3 API that checks SigV4 signatures) for tests.
// Usage: node objectstore_s3rver.mjs <node_modules parent dir> <data dir> <bucket>[,<bucket>...]
// Listens on 127.0.0.1 on a free port and prints "READY <port>" once serving. Exits when stdin
// closes, so the server never outlives the test process that started it.
import {createRequire} from 'node:module';
import path from 'node:path';

const [modulesParent, directory, buckets] = process.argv.slice(2);
if (!modulesParent || !directory || !buckets) {
  console.error('usage: objectstore_s3rver.mjs <node_modules parent> <data dir> <bucket>[,...]');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modulesParent), 'package.json'));
const S3rver = require('@20minutes/s3rver');

const server = new S3rver({
  port: 0,
  address: '127.0.0.1',
  directory,
  silent: true,
  configureBuckets: buckets.split(',').map((name) => ({name})),
});
const address = await server.run();
process.stdout.write(`READY ${address.port}\n`);

const stop = () => server.close().finally(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
