/**
 * SIGINT aborts the running knock (the SDK closes its sockets and rejects with
 * ERR_SKNOCK_ABORTED, exit 130); a second SIGINT exits at once.
 */
export function abortOnSigint(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new Error('SIGINT'));
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}
