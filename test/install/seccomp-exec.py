#!/usr/bin/python3
"""Loads a seccomp filter like the one systemd builds for a unit, then execs a command.

For the install test's stand-in for systemd (systemctl-standin.ts): it emulates

  SystemCallFilter=GROUP...   an allow list; the groups are expanded with
                              `systemd-analyze syscall-filter` (systemd's own tables)
  SystemCallErrorNumber=NAME  the errno of a refused call (default: kill the process)
  SystemCallArchitectures=native   libseccomp's default: other architectures are killed
  RestrictAddressFamilies=AF_…     socket() only for those families (others get the errno)
  RestrictNamespaces=yes      unshare/setns refused, clone with CLONE_NEW* refused, clone3 ENOSYS

Usage: seccomp-exec.py --filter @system-service [--errno EPERM] [--families AF_INET,AF_UNIX]
                       [--restrict-namespaces] -- COMMAND ARGS...

The filter outlives execve; the caller sets no_new_privs first (setpriv --no-new-privs),
as systemd's NoNewPrivileges= does, since an unprivileged process may not load one
otherwise. Needs python3-seccomp (libseccomp's bindings).
"""
import argparse
import errno
import os
import socket
import subprocess
import sys

import seccomp

CLONE_NEW_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080


def groups():
    """Every @group of systemd-analyze syscall-filter, with its members (names and @groups)."""
    out = subprocess.run(['systemd-analyze', 'syscall-filter', '--no-pager'], check=True, capture_output=True, text=True).stdout
    table, current = {}, None
    for line in out.splitlines():
        if line.startswith('@'):
            current = line.strip()
            table[current] = []
        elif current and line.strip() and not line.strip().startswith('#'):
            table[current].append(line.strip())
    return table


def expand(names, table, seen=None):
    seen = set() if seen is None else seen
    calls = set()
    for name in names:
        if name.startswith('@'):
            if name in seen:
                continue
            seen.add(name)
            calls |= expand(table.get(name, []), table, seen)
        else:
            calls.add(name)
    return calls


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--filter', action='append', default=[])
    parser.add_argument('--errno', default=None)
    parser.add_argument('--families', default=None)
    parser.add_argument('--restrict-namespaces', action='store_true')
    parser.add_argument('command', nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        parser.error('no command')

    refused = seccomp.ERRNO(getattr(errno, args.errno)) if args.errno else seccomp.KILL_PROCESS
    f = seccomp.SyscallFilter(defaction=refused)
    allowed = expand(args.filter, groups())
    special = {'socket', 'clone', 'clone3', 'unshare', 'setns'} if args.restrict_namespaces else {'socket'}
    added = 0
    for name in sorted(allowed - special):
        try:
            f.add_rule(seccomp.ALLOW, name)
            added += 1
        except (RuntimeError, ValueError):
            pass  # not a system call of this architecture
    if 'socket' in allowed:
        if args.families:
            for family in args.families.split(','):
                f.add_rule(seccomp.ALLOW, 'socket', seccomp.Arg(0, seccomp.EQ, int(getattr(socket, family))))
        else:
            f.add_rule(seccomp.ALLOW, 'socket')
    if args.restrict_namespaces:
        if 'clone' in allowed:
            f.add_rule(seccomp.ALLOW, 'clone', seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEW_FLAGS, 0))
        if 'clone3' in allowed:
            f.add_rule(seccomp.ERRNO(errno.ENOSYS), 'clone3')  # as systemd does: glibc then uses clone
    f.load()
    sys.stderr.flush()
    os.execvp(command[0], command)


if __name__ == '__main__':
    main()
