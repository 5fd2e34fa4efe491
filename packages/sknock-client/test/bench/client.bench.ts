/**
 * @sknock/client figures (printed, never asserted): CPU per knock, how soon knock()
 * resolves after the port opens (20 ms and 300 ms after the knock, the latter as an original
 * sKnock server), connections the service sees per connect(), datagrams per ten concurrent
 * connect() calls, credential loading, CLI start-up. Bounded in count and
 * time; loopback only. Run: node packages/sknock-client/dist/test/bench/client.bench.js
 * (lines starting with FIGURE are what scripts/run-bench.mjs collects).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { encodePkcs12 } from '@sknock/protocol';
import { createKnocker } from '../../src/index.js';
import { FakeKnockServer, freePort, settle } from '../support/knock-server.js';
import { TestCa } from '../support/pki.js';

function figure(name: string, value: number, unit: string): void {
  const line = `client: ${name}: ${value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2)} ${unit}`;
  console.log(line);
  console.log(`FIGURE ${line}`);
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const ports = [await freePort('127.0.0.1'), await freePort('127.0.0.1'), await freePort('127.0.0.1'), await freePort('127.0.0.1')];
const ca = await TestCa.create();
const server = await ca.issue({ name: 'bench server' });
const client = await ca.issue({ name: 'bench client', grants: ports.map((port) => ({ protocol: 'tcp' as const, port })) });
const credentials = { privateKey: client.privateKey, certificate: client.certificate };

// 1. CPU per knock, client side only: the UDP sink and the open TCP port live in a child process.
const sinkScript = `
const dgram = require('node:dgram'), net = require('node:net');
const udp = dgram.createSocket('udp4'); udp.on('message', () => {});
const tcp = net.createServer((s) => s.destroy());
udp.bind(0, '127.0.0.1', () => tcp.listen(${ports[0]}, '127.0.0.1', () => console.log(udp.address().port)));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;
const sink = spawn(process.execPath, ['-e', sinkScript], { stdio: ['pipe', 'pipe', 'inherit'] });
const knockPort = await new Promise<number>((resolve) => sink.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
try {
  const knocker = await createKnocker({ credentials, serverCertificate: server.certificate });
  const N = 300;
  for (let i = 0; i < 20; i++) await knocker.knock({ host: '127.0.0.1', port: ports[0]!, knockPort }); // warm-up
  for (const verify of [true, false]) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await knocker.knock({ host: '127.0.0.1', port: ports[0]!, knockPort, verify });
    const wall = (performance.now() - t0) / N;
    const cpu = process.cpuUsage(cpu0);
    figure(`CPU per knock, ${verify ? 'verified (packet + send + one TCP probe)' : 'verify: false (packet + send)'}`, (cpu.user + cpu.system) / N, 'µs');
    figure(`wall time per knock, ${verify ? 'verified, port already open' : 'verify: false'}`, wall * 1000, 'µs');
  }
} finally {
  sink.stdin.end();
}

// 2. How soon knock() resolves after the port opens: the listener starts 20 ms after the knock arrives.
{
  const delays: number[] = [];
  const callTimes: number[] = [];
  const knocker = await createKnocker({ credentials, serverCertificate: server.certificate });
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const RUNS = 40;
  for (let i = 0; i < RUNS; i++) {
    let listeningAt = 0;
    const tcp = createServer((s) => s.destroy());
    udp.once('message', () => setTimeout(() => tcp.listen(ports[1], '127.0.0.1', () => (listeningAt = performance.now())), 20));
    const t0 = performance.now();
    await knocker.knock({ host: '127.0.0.1', port: ports[1]!, knockPort: udp.address().port, timeout: 3000 });
    const t1 = performance.now();
    delays.push(t1 - listeningAt);
    callTimes.push(t1 - t0);
    await new Promise<void>((r) => tcp.close(() => r()));
  }
  udp.close();
  figure('knock() resolve after the port opens, p50', percentile(delays, 50), 'ms');
  figure('knock() resolve after the port opens, p90', percentile(delays, 90), 'ms');
  figure('knock() resolve after the port opens, max', Math.max(...delays), 'ms');
  figure('knock() call with the port opening 20 ms after the knock arrives, p50', percentile(callTimes, 50), 'ms');
}

// 2b. Against a stand-in that opens 300 ms after the knock (as an original sKnock server may):
// how soon knock() and connect() see it, and the connections the service saw per connect().
{
  const knocker = await createKnocker({ credentials, serverCertificate: server.certificate });
  const RUNS = 30;
  for (const call of ['knock()', 'connect()'] as const) {
    const lags: number[] = [];
    let connections = 0;
    let datagrams = 0;
    for (let i = 0; i < RUNS; i++) {
      const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port: ports[2]!, openDelayMs: 300 });
      try {
        if (call === 'knock()') await knocker.knock({ host: '127.0.0.1', port: ports[2]!, knockPort: fake.knockPort, timeout: 3000 });
        else (await knocker.connect({ host: '127.0.0.1', port: ports[2]!, knockPort: fake.knockPort, timeout: 3000 })).destroy();
        lags.push(performance.now() - (fake.listeningAt as number));
        await settle();
        await new Promise((r) => setTimeout(r, 5));
        connections += fake.connections;
        datagrams += fake.received.length;
      } finally {
        await fake.close();
      }
    }
    figure(`${call} resolve after a port opening 300 ms after the knock, p50`, percentile(lags, 50), 'ms');
    figure(`${call} resolve after a port opening 300 ms after the knock, p90`, percentile(lags, 90), 'ms');
    figure(`${call} connections at the service per call (port opening 300 ms after the knock)`, connections / RUNS, 'connections');
    figure(`${call} datagrams per call (port opening 300 ms after the knock)`, datagrams / RUNS, 'datagrams');
  }
}

// 2c. Ten connect() calls at once through one knocker: datagrams and connections at the service.
// Each run has a new stand-in, closed until it is knocked: every run knocks.
{
  const knocker = await createKnocker({ credentials, serverCertificate: server.certificate });
  const RUNS = 10;
  let datagrams = 0;
  let connections = 0;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const fake = await FakeKnockServer.start({ host: '127.0.0.1', serverKey: server.privateKey, port: ports[3]!, openDelayMs: 20 });
    try {
      const t0 = performance.now();
      const sockets = await Promise.all(Array.from({ length: 10 }, () => knocker.connect({ host: '127.0.0.1', port: ports[3]!, knockPort: fake.knockPort, timeout: 3000 })));
      times.push(performance.now() - t0);
      for (const s of sockets) s.destroy();
      await settle();
      await new Promise((r) => setTimeout(r, 5));
      datagrams += fake.received.length;
      connections += fake.connections;
    } finally {
      await fake.close();
    }
  }
  figure('datagrams per ten concurrent connect() calls', datagrams / RUNS, 'datagrams');
  figure('connections at the service per ten concurrent connect() calls', connections / RUNS, 'connections');
  figure('ten concurrent connect() calls, port opening 20 ms after the knock, p50', percentile(times, 50), 'ms');
}

// 3. Loading credentials: PKCS#12 (PBES2, 2048 iterations) with createKnocker.
{
  const pfx = await encodePkcs12({ privateKey: client.privateKey, certificate: client.certificate, passphrase: 'bench' });
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await createKnocker({ pfx, passphrase: 'bench', serverCertificate: server.certificate });
    times.push(performance.now() - t0);
  }
  figure('createKnocker from PKCS#12 (PBES2), median', percentile(times, 50), 'ms');
}

// 4. CLI start-up to an answer (`sknock --version`), and to a usage error.
{
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  for (const [name, args] of [['sknock --version', ['--version']], ['sknock knock (usage error)', ['knock']]] as const) {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      spawnSync(process.execPath, [main, ...args], { stdio: 'ignore' });
      times.push(performance.now() - t0);
    }
    figure(`${name} wall time, median`, percentile(times, 50), 'ms');
  }
}
