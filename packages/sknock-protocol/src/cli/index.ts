/**
 * @sknock/protocol/cli — the plumbing the sKnock commands (`sknock`, `sknock-server`,
 * `sknock-ca`) share: the exit statuses and the usage error, what a command does when its
 * output is closed under it, and the passphrase prompt.
 */
export { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
export { UsageError } from './usage-error.js';
export { EXIT_OUTPUT_CLOSED, guardOutput } from './closed-output.js';
export type { OutputGuard } from './closed-output.js';
export { canPrompt, promptOnControllingTerminal, readHiddenLine } from './passphrase-prompt.js';
export type { HiddenLine, PromptEnd, PromptTerminal } from './passphrase-prompt.js';
