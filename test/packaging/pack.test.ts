/**
 * Ready to publish: `pnpm pack` of each package holds its compiled JS + .d.ts, README,
 * LICENSE (+ systemd/ and docs/ for the server) and nothing else, with every file its
 * README links to inside the package; publint and attw find nothing in it; the four tarballs install with npm
 * into an empty folder (third-party dependencies from the npm registry or its cache); a
 * TypeScript consumer compiles against the installed types with NodeNext resolution; and,
 * run with node, it knocks with @sknock/client at a @sknock/server daemon (memory back end,
 * 127.0.0.1) — everything imported from the installed tarballs. CommonJS consumers can
 * require() them; the bins run; the systemd unit's Documentation= is the installed README.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, realpathSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot, run, show } from '../examples/run-script.js';
import { devTool, pnpmCommand, toolEnv } from './tools.js';

const PACKAGES = ['sknock-protocol', 'sknock-client', 'sknock-ca', 'sknock-server'] as const;
type PackageDir = (typeof PACKAGES)[number];

/** `tar tvzf`: entry paths and whether each is executable by its owner. */
async function tarEntries(tarball: string): Promise<Map<string, { executable: boolean }>> {
  const r = await run('tar', ['tvzf', tarball]);
  assert.equal(r.code, 0, show(r));
  const entries = new Map<string, { executable: boolean }>();
  for (const line of r.stdout.trim().split('\n')) {
    const mode = line.slice(0, 10);
    const path = line.split(/\s+/).slice(5).join(' ');
    entries.set(path, { executable: mode[3] === 'x' });
  }
  return entries;
}

/** A tiny TypeScript consumer of the four packages: types checked by tsc, then run by node. */
const CONSUMER_TS = `
import { once } from 'node:events';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { createKnocker, isSknockClientError, knock, type KnockResult, type SknockClientErrorCode } from '@sknock/client';
import { createServer, MemoryFirewallBackend, type FirewallBackend, type OpenEvent, type SknockServer } from '@sknock/server';
import { createCa, issueClientCertificate, issueServerCertificate, type CertificateAuthority } from '@sknock/ca';
import { loadCredentials, parsePortGrants, type Credentials, type PortGrant } from '@sknock/protocol';

const service = createTcpServer((socket) => {
  socket.on('error', () => undefined);
  socket.end('hi\\n');
}).listen(0, '127.0.0.1');
await once(service, 'listening');
const port = (service.address() as AddressInfo).port;

const ca: CertificateAuthority = await createCa({ name: 'Pack test CA', validityDays: 2 });
const serverCert = await issueServerCertificate(ca, { name: '127.0.0.1', validityDays: 1, pkcs12: { passphrase: 'server' } });
const clientCert = await issueClientCertificate(ca, { name: 'packed', grants: [{ protocol: 'tcp', port }], validityDays: 1, pkcs12: { passphrase: 'client' } });
const grants: PortGrant[] = parsePortGrants(clientCert.certificate);
const credentials: Credentials = await loadCredentials({ pfx: serverCert.pfx as Uint8Array, passphrase: 'server' });

const firewall = new MemoryFirewallBackend();
const backend: FirewallBackend = firewall;
const daemon: SknockServer = createServer({ config: { listenAddress: '127.0.0.1' }, credentials, firewall: backend, listenPort: 0, logger: false });
const opened = once(daemon, 'open') as Promise<[OpenEvent]>;
const { port: knockPort } = await daemon.start();

const result: KnockResult = await knock({
  host: '127.0.0.1', port, knockPort,
  pfx: clientCert.pfx as Uint8Array, passphrase: 'client', serverCertificate: serverCert.certificate,
});
const [event] = await opened;
const allowed = firewall.isAllowed('127.0.0.1', 'tcp', port);

// A port the certificate does not grant: a typed error, before anything is sent.
const knocker = await createKnocker({ pfx: clientCert.pfx as Uint8Array, passphrase: 'client', serverCertificate: serverCert.certificate });
let code: SknockClientErrorCode | undefined;
try {
  await knocker.knock({ host: '127.0.0.1', port: port === 65535 ? 1 : port + 1, knockPort });
} catch (err) {
  if (isSknockClientError(err)) code = err.code;
}

await daemon.stop();
service.close();
console.log(JSON.stringify({ verified: result.verified, grant: event.grant, allowed, grants, code }));
`;

describe('packaging: pnpm pack, npm install of the tarballs, a TypeScript consumer', () => {
  let dir: string;
  const tarballs = new Map<PackageDir, string>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sknock-pack-'));
    mkdirSync(join(dir, 'tarballs'));
    const [file, ...args] = pnpmCommand() as [string, ...string[]];
    await Promise.all(
      PACKAGES.map(async (pkg) => {
        const r = await run(file, [...args, 'pack', '--pack-destination', join(dir, 'tarballs')], {
          cwd: join(repoRoot, 'packages', pkg),
          env: toolEnv(),
          timeoutMs: 120_000,
        });
        assert.equal(r.code, 0, `pnpm pack in packages/${pkg}: ${show(r)}`);
        const manifest = JSON.parse(readFileSync(join(repoRoot, 'packages', pkg, 'package.json'), 'utf8')) as { name: string; version: string };
        const tarball = join(dir, 'tarballs', `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`);
        assert.ok(existsSync(tarball), `no ${tarball}: ${show(r)}`);
        tarballs.set(pkg, tarball);
      }),
    );
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const pkg of PACKAGES) {
    it(`${pkg}: the tarball holds dist/src JS + .d.ts, README, LICENSE${pkg === 'sknock-server' ? ', systemd/, docs/' : ''} and nothing else`, async () => {
      const entries = await tarEntries(tarballs.get(pkg) as string);
      const names = [...entries.keys()];
      for (const required of ['package/package.json', 'package/README.md', 'package/LICENSE', 'package/dist/src/index.js', 'package/dist/src/index.d.ts']) {
        assert.ok(entries.has(required), `${required} missing from the tarball`);
      }
      const stray = names.filter((n) => {
        if (['package/package.json', 'package/README.md', 'package/LICENSE'].includes(n)) return false;
        if (pkg === 'sknock-server' && /^package\/(systemd\/[^/]+|docs\/[^/]+\.md)$/.test(n)) return false;
        return !/^package\/dist\/src\/.+\.(js|d\.ts)$/.test(n);
      });
      assert.deepEqual(stray, [], 'files that should not be published');
      // Every compiled file has its source: no leftovers of deleted modules in dist/.
      const orphans = names
        .filter((n) => n.startsWith('package/dist/src/'))
        .map((n) => n.slice('package/dist/'.length).replace(/\.d\.ts$|\.js$/, '.ts'))
        .filter((src) => !existsSync(join(repoRoot, 'packages', pkg, src)));
      assert.deepEqual(orphans, [], 'compiled files without a source file (stale dist/: run `pnpm clean && pnpm build`)');
      // The README's links that stay inside the package point at what the tarball holds
      // (links that leave it, such as ../../docs/PROTOCOL.md, resolve in the repository).
      const readme = readFileSync(join(repoRoot, 'packages', pkg, 'README.md'), 'utf8');
      for (const [, target] of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
        const path = (target as string).replace(/#.*$/, '').replace(/^\.\//, '').replace(/\/$/, '');
        if (path === '' || /^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('../')) continue;
        assert.ok(entries.has(`package/${path}`) || names.some((n) => n.startsWith(`package/${path}/`)), `README links to ${target}, which is not in the tarball`);
      }
      if (pkg === 'sknock-server') {
        assert.ok(entries.has('package/systemd/sknock-server.service'), 'systemd/sknock-server.service missing');
        assert.ok(entries.has('package/docs/firewall.md'), 'docs/firewall.md (linked from the README) missing');
      }
    });
  }

  for (const pkg of PACKAGES) {
    // ESM-only packages (type: module, engines node >= 20.19): attw's esm-only profile leaves
    // out node10 resolution and require() from CJS, which Node >= 20.19 does load (tested below).
    it(`${pkg}: publint --strict and attw --profile esm-only find nothing in the tarball`, async () => {
      const env = { ...toolEnv(), NO_COLOR: '1', FORCE_COLOR: '0' };
      const publint = await run(process.execPath, [devTool('publint', 'publint'), 'run', '--strict', tarballs.get(pkg) as string], { env, timeoutMs: 120_000 });
      assert.equal(publint.code, 0, show(publint));
      assert.match(publint.stdout, /^All good!$/m, `publint has suggestions: ${show(publint)}`);
      const attw = await run(process.execPath, [devTool('@arethetypeswrong/cli', 'attw'), '--profile', 'esm-only', '--format', 'json', tarballs.get(pkg) as string], { env, timeoutMs: 120_000 });
      assert.equal(attw.code, 0, show(attw));
      const report = JSON.parse(attw.stdout) as { analysis: { entrypoints: Record<string, unknown> }; problems: Record<string, { entrypoint: string; resolutionKind?: string }[]> };
      const exports = Object.keys(JSON.parse(readFileSync(join(repoRoot, 'packages', pkg, 'package.json'), 'utf8')).exports as object);
      assert.deepEqual(Object.keys(report.analysis.entrypoints).sort(), exports.sort(), 'attw checked every entry point of the exports map');
      const problems = Object.values(report.problems).flat().filter((p) => p.resolutionKind !== 'node10' && p.resolutionKind !== 'node16-cjs');
      assert.deepEqual(problems, [], `attw: ${attw.stdout}`);
    });
  }

  it('the packed package.json files have real versions instead of workspace: ranges, and executable bins', async () => {
    for (const pkg of PACKAGES) {
      const r = await run('tar', ['xzf', tarballs.get(pkg) as string, '-O', 'package/package.json']);
      assert.equal(r.code, 0, show(r));
      assert.doesNotMatch(r.stdout, /workspace:/, `${pkg}: a workspace: range was published`);
      const manifest = JSON.parse(r.stdout) as { exports?: Record<string, unknown>; bin?: Record<string, string>; dependencies?: Record<string, string> };
      assert.ok(manifest.exports?.['.'], `${pkg}: no exports map`);
      for (const [name, dep] of Object.entries(manifest.dependencies ?? {})) {
        if (name.startsWith('@sknock/')) assert.match(dep, /^\^?\d+\.\d+\.\d+/, `${pkg}: dependency ${name} is ${dep}`);
      }
      // The daemon installs without the CA's X.509 builder: that is @sknock/ca's, for an offline machine.
      if (pkg === 'sknock-server') {
        assert.deepEqual(Object.keys(manifest.dependencies ?? {}).filter((n) => n.startsWith('@peculiar/') || n === 'reflect-metadata' || n === '@sknock/ca'), []);
      }
      const entries = await tarEntries(tarballs.get(pkg) as string);
      for (const [bin, target] of Object.entries(manifest.bin ?? {})) {
        const entry = entries.get(`package/${target.replace(/^\.\//, '')}`);
        assert.ok(entry, `${pkg}: bin ${bin} → ${target} is not in the tarball`);
        assert.ok(entry.executable, `${pkg}: bin ${bin} → ${target} is not executable`);
      }
    }
  });

  describe('installed from the tarballs into an empty folder', () => {
    let app: string;
    before(async () => {
      app = join(dir, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'sknock-pack-consumer', private: true, type: 'module' }));
      const r = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', ...PACKAGES.map((p) => tarballs.get(p) as string)], {
        cwd: app,
        env: toolEnv(),
        timeoutMs: 180_000,
      });
      assert.equal(r.code, 0, `npm install of the tarballs: ${show(r)}`);
    });

    it('installs @sknock/* from the tarballs, not from the registry', () => {
      for (const pkg of PACKAGES) {
        const name = pkg.replace('sknock-', '');
        const installed = join(app, 'node_modules', '@sknock', name);
        assert.ok(existsSync(join(installed, 'dist', 'src', 'index.js')), `@sknock/${name} not installed`);
        assert.equal(
          readFileSync(join(installed, 'dist', 'src', 'index.js'), 'utf8'),
          readFileSync(join(repoRoot, 'packages', pkg, 'dist', 'src', 'index.js'), 'utf8'),
          `@sknock/${name} is not this repository's build`,
        );
        // Only one copy of @sknock/protocol: client, CA and server share the installed one.
        assert.ok(!existsSync(join(installed, 'node_modules', '@sknock')), `a nested @sknock copy under @sknock/${name}`);
      }
    });

    /** Writes tsconfig-<name>.json for consumer.ts and runs the repository's tsc on it. */
    async function compileConsumer(name: string, options: { lib: string[]; skipLibCheck: boolean; emit: boolean }): Promise<void> {
      writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
      const tsconfig = join(app, `tsconfig-${name}.json`);
      writeFileSync(
        tsconfig,
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            lib: options.lib,
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            skipLibCheck: options.skipLibCheck,
            ...(options.emit ? { outDir: 'out' } : { noEmit: true }),
            // @types/node is the consumer's own business; borrow the repository's.
            typeRoots: [join(repoRoot, 'node_modules', '@types')],
            types: ['node'],
          },
          files: ['consumer.ts'],
        }),
      );
      const tsc = await run(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], { cwd: app, timeoutMs: 120_000 });
      assert.equal(tsc.code, 0, `tsc (${name}): ${show(tsc)}`);
    }

    it('a TypeScript consumer compiles (NodeNext) against the installed types and knocks through them', async () => {
      await compileConsumer('app', { lib: ['ES2023'], skipLibCheck: true, emit: true });
      const r = await run(process.execPath, [join(app, 'out', 'consumer.js')], { cwd: app, timeoutMs: 30_000 });
      assert.equal(r.code, 0, show(r));
      const outcome = JSON.parse(r.stdout.trim()) as { verified: boolean; grant: { address: string; protocol: string; port: number }; allowed: boolean; grants: unknown[]; code?: string };
      assert.equal(outcome.verified, true);
      assert.equal(outcome.allowed, true);
      assert.equal(outcome.grant.address, '127.0.0.1');
      assert.deepEqual(outcome.grants, [{ protocol: 'tcp', port: outcome.grant.port }]);
      assert.equal(outcome.code, 'ERR_SKNOCK_NOT_GRANTED');
    });

    // Without the DOM lib: the public types must not reach @peculiar/x509's (WebCrypto) typings.
    it('every shipped .d.ts type-checks (skipLibCheck: false)', async () => {
      await compileConsumer('strict', { lib: ['ES2023'], skipLibCheck: false, emit: false });
    });

    it('the exports maps resolve under node and keep internals private', async () => {
      const script = [
        "const ok = await Promise.all(['@sknock/protocol', '@sknock/client', '@sknock/server', '@sknock/ca'].map((s) => import(s).then((m) => Object.keys(m).length)));",
        'let internal = "importable";',
        "try { await import('@sknock/server/dist/src/daemon/server.js'); } catch (e) { internal = e.code; }",
        'console.log(JSON.stringify({ ok, internal }));',
      ].join('\n');
      const r = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
      assert.equal(r.code, 0, show(r));
      const { ok, internal } = JSON.parse(r.stdout) as { ok: number[]; internal: string };
      for (const n of ok) assert.ok(n > 0, 'an entry point exports nothing');
      assert.equal(internal, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
    });

    it('CommonJS consumers can require() every entry point (Node >= 20.19 loads ES modules through require)', async () => {
      const script = "console.log(JSON.stringify(['@sknock/protocol', '@sknock/client', '@sknock/server', '@sknock/ca'].map((s) => Object.keys(require(s)).length)))";
      const r = await run(process.execPath, ['--no-warnings', '-e', script], { cwd: app });
      assert.equal(r.code, 0, show(r));
      for (const n of JSON.parse(r.stdout) as number[]) assert.ok(n > 0, 'an entry point exports nothing through require()');
    });

    it("the systemd unit's Documentation= is the README installed with the package (install-unit writes its path)", async () => {
      const r = await run(join(app, 'node_modules', '.bin', 'sknock-server'), ['install-unit', '--output', '-'], { cwd: app });
      assert.equal(r.code, 0, show(r));
      const docs = /^Documentation=(.*)$/m.exec(r.stdout)?.[1]?.split(/\s+/) ?? [];
      assert.equal(docs.length, 1, r.stdout);
      const readme = (docs[0] as string).replace(/^file:/, '');
      assert.equal(realpathSync(readme), realpathSync(join(app, 'node_modules', '@sknock', 'server', 'README.md')));
    });

    it('the bins run: sknock, sknock-server, sknock-ca', async () => {
      const bin = (name: string): string => join(app, 'node_modules', '.bin', name);
      const version = JSON.parse(readFileSync(join(repoRoot, 'packages', 'sknock-client', 'package.json'), 'utf8')).version as string;
      const sknock = await run(bin('sknock'), ['--version'], { cwd: app });
      assert.equal(sknock.code, 0, show(sknock));
      assert.match(sknock.stdout, new RegExp(version.replace(/\./g, '\\.')));
      const server = await run(bin('sknock-server'), ['--version'], { cwd: app });
      assert.equal(server.code, 0, show(server));
      assert.match(server.stdout, /\d+\.\d+\.\d+/);
      const keys = await run(bin('sknock-server'), ['check-config', '--keys'], { cwd: app });
      assert.equal(keys.code, 0, show(keys));
      assert.match(keys.stdout, /^PORT_OPEN_DURATION_IN_SECONDS \(default 15\)/m);
      const ca = await run(bin('sknock-ca'), ['--help'], { cwd: app });
      assert.equal(ca.code, 0, show(ca));
      assert.match(ca.stdout, /^Usage: sknock-ca COMMAND/m);
    });
  });
});
