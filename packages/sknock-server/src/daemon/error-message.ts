/** The message of a thrown value, for a log line (a non-Error as text). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
