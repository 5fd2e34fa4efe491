/**
 * Exit statuses of the sKnock commands (`sknock`, `sknock-server`, `sknock-ca`): the same
 * number means the same thing in each, as in most Unix tools.
 */

export const EXIT_OK = 0;
/** The operation failed (a knock that did not open the port, a daemon that could not start, a CA that could not sign). */
export const EXIT_FAILED = 1;
/** Bad command line: the message says what, `--help` says how. */
export const EXIT_USAGE = 2;
/** Interrupted (Ctrl-C, SIGINT), as shells report 128 + 2. */
export const EXIT_INTERRUPTED = 130;
