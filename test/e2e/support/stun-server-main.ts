/**
 * A STUN Binding responder run inside a namespace by `startStunServer()` (stun-server.ts):
 * answers every Binding request with the address and port it came from (XOR-MAPPED-ADDRESS),
 * prints `{"port": N}` once bound and `{"request": "addr"}` per request, and exits when its
 * standard input closes (so it never outlives the test).
 * Usage: node stun-server-main.js HOST [PORT]
 */
import { createSocket } from 'node:dgram';
import { encodeBindingSuccess } from '@sknock/protocol/stun';

const [host, portText = '0'] = process.argv.slice(2);
if (host === undefined) {
  process.stderr.write('usage: stun-server-main.js HOST [PORT]\n');
  process.exit(2);
}
const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
socket.on('message', (data, from) => {
  // A Binding request: type 0x0001, magic cookie 0x2112A442; the transaction id is bytes 8-19.
  if (data.length < 20 || data.readUInt16BE(0) !== 0x0001 || data.readUInt32BE(4) !== 0x2112a442) return;
  process.stdout.write(`${JSON.stringify({ request: from.address })}\n`);
  socket.send(encodeBindingSuccess(new Uint8Array(data.subarray(8, 20)), { address: from.address, port: from.port }), from.port, from.address);
});
socket.bind(Number(portText), host, () => {
  process.stdout.write(`${JSON.stringify({ port: socket.address().port })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
