/** Help texts and the usage error (exit code 2) of the `sknock` command. */

export const EXIT_OK = 0;
/** The knock did not open the port, or anything else at run time went wrong. */
export const EXIT_FAILED = 1;
/** Bad command line. */
export const EXIT_USAGE = 2;
/** Interrupted (SIGINT), as shells report 128 + 2. */
export const EXIT_INTERRUPTED = 130;

export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string | undefined = undefined,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Ctrl-C at a prompt, or SIGINT during a knock. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'InterruptedError';
  }
}

const KNOCK_OPTIONS = `Credentials (one of):
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
  --source-address ADDR    the address to bind the knock to (default: the local
                           address toward the host; set it behind NAT)
  --knock-port N           UDP port to send the knock to (default: random 10000-60000)
  --no-verify              do not wait for the TCP port to answer
  --timeout SECONDS        for the whole call (default 10)
  --retries N              knocks resent when the port does not open (default 3)`;

export const MAIN_USAGE = `Usage: sknock <command> [options]

Commands:
  knock <host> -p <port>   send a knock and wait until the port opens
  connect <host> <port>    connect (knocking if the port does not answer), then relay stdin/stdout
                           (ssh -o ProxyCommand='sknock connect %h %p --pfx ... --server-cert ...')
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
