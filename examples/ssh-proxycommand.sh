#!/bin/sh
# ssh through sKnock: knock, then relay ssh's connection (`sknock connect`).
#
# In ~/.ssh/config:
#
#   Host hidden.example.org
#       ProxyCommand /path/to/ssh-proxycommand.sh %h %p
#
# or without this script:
#
#   Host hidden.example.org
#       ProxyCommand sknock connect %h %p --pfx ~/.sknock/me.pfx --server-cert ~/.sknock/server.cer --passphrase-file ~/.sknock/me.pass
#
# `sknock connect` tries tcp/%p (a grant may still run), knocks if it does not answer, then
# copies standard input to the connection and the connection to standard output, over the
# TCP connection that answered (sshd sees exactly one, and no probe before it). Its messages go to standard error; exit status 0 when
# the connection ended, 1 when the port did not open.
#
# Settings (environment, with defaults):
#   SKNOCK_PFX              ~/.sknock/client.pfx    your key and certificate (PKCS#12)
#   SKNOCK_PASSPHRASE_FILE  ~/.sknock/client.pass   its password, first line (or set SKNOCK_PASSPHRASE)
#   SKNOCK_SERVER_CERT      ~/.sknock/server.cer    the server's certificate
#   SKNOCK_KNOCK_PORT       (random)                the server's knock port, if it does not take knocks on any port
#   SKNOCK                  sknock                  the sknock command (npm install -g @sknock/client)
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 HOST PORT   (as an ssh ProxyCommand: $0 %h %p)" >&2
  exit 2
fi
host=$1
port=$2

pfx=${SKNOCK_PFX:-$HOME/.sknock/client.pfx}
server_cert=${SKNOCK_SERVER_CERT:-$HOME/.sknock/server.cer}
set -- connect "$host" "$port" --pfx "$pfx" --server-cert "$server_cert" --timeout 10

# The password never goes on a command line (other users could read it in ps).
if [ -n "${SKNOCK_PASSPHRASE:-}" ]; then
  set -- "$@" --passphrase-env SKNOCK_PASSPHRASE
else
  set -- "$@" --passphrase-file "${SKNOCK_PASSPHRASE_FILE:-$HOME/.sknock/client.pass}"
fi
if [ -n "${SKNOCK_KNOCK_PORT:-}" ]; then
  set -- "$@" --knock-port "$SKNOCK_KNOCK_PORT"
fi

exec "${SKNOCK:-sknock}" "$@"
