/**
 * Help texts of the `sknock` command. The exit statuses and the usage error (exit code 2) are
 * the commands' shared ones (`@sknock/protocol/cli`): a failed knock is EXIT_FAILED (1).
 */
import { SknockError } from '@sknock/protocol/errors';

export { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError } from '@sknock/protocol/cli';

/** Ctrl-C at a prompt, or SIGINT during a knock. */
export class InterruptedError extends SknockError {
  declare readonly code: 'ERR_SKNOCK_ABORTED';

  constructor() {
    super('ERR_SKNOCK_ABORTED', 'interrupted');
    this.name = 'InterruptedError';
  }
}

const KNOCK_OPTIONS = `Profile (the section for <host> in the profile file fills in what no flag gives):
  --profile NAME           the section [NAME] instead of the one for <host>
  --config FILE            the profile file (default $SKNOCK_CONFIG, else
                           $XDG_CONFIG_HOME/sknock/config, ~/.config/sknock/config)
  --no-profile             read no profile file
Credentials (one of):
  --pfx FILE               PKCS#12 file with the client key and certificate
  --key FILE --cert FILE   PEM or DER private key and certificate
Password (for --pfx, or an encrypted --key), never on the command line:
  --passphrase-file FILE   first line of FILE
  --passphrase-env VAR     the environment variable VAR
                           (neither: prompted for on the terminal, if there is one)
Server:
  --server-cert FILE       the sKnock server's certificate (DER or PEM)     [required]
Knock:
  -u, --udp                open a UDP port (default TCP)
  -4, -6                   resolve the host to IPv4 / IPv6 only
  --source-address ADDR    the address to bind the knock to (default: --local-address,
                           else the local address toward the host); behind NAT your
                           public address, or 'auto' to ask --stun-server
  --stun-server HOST[:PORT]  the STUN server that --source-address auto asks (port 3478
                           by default; no STUN server is asked unless you name one)
  --local-address ADDR     send from this address of this host (knock, STUN, TCP)
  --grant-seconds N        how long the server keeps the port open, if you know it
  --knock-port N           UDP port to send the knock to (default: random 10000-60000)
  --no-verify              do not wait for the TCP port to answer
  --timeout SECONDS        for the whole call (default 10)
  --retries N              knocks resent when the port does not open (default 3)`;

export const MAIN_USAGE = `Usage: sknock <command> [options]

Commands:
  knock <host> -p <port>   send a knock and wait until the port opens
  connect <host> <port>    connect (knocking if the port does not answer), then relay
                           stdin/stdout (ssh -o ProxyCommand='sknock connect %h %p')
  profile add|list|show    keep credentials and settings per host in the profile file
  csr --name NAME          make a P-256 key and a certificate request for sknock-ca sign-csr

Options:
  -h, --help               help (also: sknock <command> --help)
  --version                the version

Exit status: 0 port open (or knock sent with --no-verify), 1 not opened or failed,
2 bad usage, 130 interrupted, 141 its output was closed by its reader.`;

export const KNOCK_USAGE = `Usage: sknock knock <host> -p <port> [options]

Sends one sKnock knock, and for TCP connects until the port answers (resending the
knock when a try does not open it).

  -p, --port N             the port to open                                   [required]
${KNOCK_OPTIONS}
Output:
  --json                   one JSON object on stdout, also on failure
  --dry-run --output FILE  write the knock datagram to FILE ('-': stdout) instead of sending it

Exit status: 0 port open (or knock sent, --no-verify/--udp/--dry-run), 1 not opened
or failed, 2 bad usage, 130 interrupted, 141 its output was closed by its reader.`;

export const CONNECT_USAGE = `Usage: sknock connect <host> <port> [options]

Tries the port (a grant may still run) and knocks if it does not answer within 250 ms,
then carries stdin and stdout over the TCP connection that answered, for
  ssh -o ProxyCommand='sknock connect %h %p' host     (with a profile for the host)
  ssh -o ProxyCommand='sknock connect %h %p --pfx client.pfx --server-cert server.cer' host
Messages go to stderr. End of stdin half-closes the connection; the process exits 0
when the server closes its side.

${KNOCK_OPTIONS}

Exit status: 0 connection closed by the server, 1 not opened or failed, 2 bad usage,
141 stdout was closed by its reader (the connection is closed then).`;

export const CSR_USAGE = `Usage: sknock csr --name NAME [--out-key FILE] [--out-csr FILE] [--force] [--json]

Makes a new P-256 private key (PKCS#8 PEM, file mode 0600) and a PKCS#10 certificate
request (PEM) with subject CN=NAME, for your sKnock CA (sknock-ca sign-csr).

  --name NAME              the common name of the client                    [required]
  --out-key FILE           where the key goes (default: NAME.key)
  --out-csr FILE           where the request goes (default: NAME.csr; '-': stdout)
  --force                  overwrite existing files
  --json                   print the result as JSON

Exit status: 0 written, 1 failed, 2 bad usage, 141 its output was closed by its reader
(the files are written all the same).`;

export const PROFILE_USAGE = `Usage: sknock profile add <section> [settings] [--force] [--config FILE] [--json]
       sknock profile list [--config FILE] [--json]
       sknock profile show <host> [--config FILE] [--json]

The profile file (default $SKNOCK_CONFIG, else $XDG_CONFIG_HOME/sknock/config, else
~/.config/sknock/config) holds one INI section per host, host pattern or profile name:
  [db.example.com]   exact host; wins over any pattern
  [*.example.com]    pattern: * matches any characters, dots included; the pattern with
                     the most characters besides * wins, then the first in the file
  [work]             a name for --profile work
'sknock knock <host>' and 'sknock connect <host> <port>' take everything from the section
that applies; flags override it. Paths in the file are taken from the file's folder, ~
is expanded. The file holds no password: passphraseFile names a file holding one.

add writes section <section> (atomically, mode 0600, other sections and comments kept;
--force replaces an existing one). Settings, written with absolute paths:
  --pfx FILE | --key FILE --cert FILE    --server-cert FILE    --passphrase-file FILE
  --knock-port N    --source-address ADDR|auto    --stun-server HOST[:PORT]
  --local-address ADDR    -4 | -6    --grant-seconds N
list shows every section as written; show tells which section applies to <host>.

Exit status: 0 done, 1 failed (show: no section applies), 2 bad usage or a mistake in the
profile file, 141 its output was closed by its reader.`;
