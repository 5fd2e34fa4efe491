/**
 * A tiny HTTP server run inside a namespace by `serveFile()` (file-server.ts): serves one
 * file at every path, prints `{"port": N}` once listening and `{"request": "<path>"}` per
 * request, and exits when its standard input closes (so it never outlives the test).
 * Usage: node file-server-main.js FILE [HOST]
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const [file, host = '127.0.0.1'] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: file-server-main.js FILE [HOST]\n');
  process.exit(2);
}
const server = createServer((req, res) => {
  process.stdout.write(`${JSON.stringify({ request: req.url })}\n`);
  const body = readFileSync(file);
  res.writeHead(200, { 'content-type': 'application/pkix-crl', 'content-length': body.length });
  res.end(body);
});
server.listen({ host, port: 0 }, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
