#!/usr/bin/env node
/**
 * SSH through sKnock with `ssh2`: `knocker.connect()` knocks when needed and resolves with
 * the connection that answered; ssh2 takes it as `sock`. sshd sees exactly that one
 * connection (no probe connection before it, so no `kex_exchange_identification` line in
 * its log).
 *
 *   SKNOCK_HOST=host.example.org SKNOCK_PORT=22 SKNOCK_PFX=me.pfx SKNOCK_PASSPHRASE=… \
 *   SKNOCK_SERVER_CERT=server.cer SSH_USER=me SSH_KEY=~/.ssh/id_ed25519 \
 *   SSH_HOST_KEY=host_ed25519_key.pub node examples/ssh2-exec.mjs [command]
 *
 * SSH_HOST_KEY is the server's public host key (an OpenSSH `.pub` line): the connection
 * is refused unless the server proves it holds that key.
 */
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { createKnocker } from '@sknock/client';
import { clientFromEnv } from './lib/local-lab.mjs';

const command = process.argv[2] ?? 'uname -a';
if (!process.env.SSH_HOST_KEY) throw new Error('set SSH_HOST_KEY to the server\'s public host key file (.pub)');
const hostKey = Buffer.from(readFileSync(process.env.SSH_HOST_KEY, 'utf8').trim().split(/\s+/)[1] ?? '', 'base64');
const { host, port, knockOptions } = await clientFromEnv({ needs: 'an SSH server' });
const { pfx, passphrase, serverCertificate, ...knock } = knockOptions;
const knocker = await createKnocker({ pfx, passphrase, serverCertificate });

const sock = await knocker.connect({ host, port, ...knock });
const client = new ssh2.Client();
const output = await new Promise((resolve, reject) => {
  client
    .on('ready', () => {
      client.exec(command, (err, stream) => {
        if (err) return reject(err);
        let out = '';
        stream.on('data', (c) => (out += c)).stderr.on('data', (c) => process.stderr.write(c));
        stream.on('close', (code) => {
          client.end();
          resolve({ out, code });
        });
      });
    })
    .on('error', reject)
    .connect({
      sock,
      username: process.env.SSH_USER ?? process.env.USER,
      privateKey: readFileSync(process.env.SSH_KEY ?? `${process.env.HOME}/.ssh/id_ed25519`),
      hostVerifier: (key) => key.equals(hostKey),
    });
});
process.stdout.write(output.out);
console.log(`ssh2: "${command}" exited ${output.code}`);
process.exitCode = output.code === 0 ? 0 : 1;
