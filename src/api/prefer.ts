/**
 * The `wait` preference of RFC 7240 (`Prefer: wait=10`, possibly among others: `respond-async, wait=5`).
 * A preference the server does not understand is ignored (RFC 7240 section 2), so a malformed one is too.
 */

/** The longest a request may be held: below the 75 s idle timeout of the connection, so it is never cut. */
export const MAX_WAIT_SECONDS = 60;

/** Seconds to wait, capped at MAX_WAIT_SECONDS; undefined when the header asks for no (valid) wait. */
export function preferredWait(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const values = Array.isArray(header) ? header : [header];
  for (const value of values) {
    for (const preference of value.split(',')) {
      // token [= word] *( ";" parameter ): parameters of wait mean nothing, so they are skipped
      const match = /^\s*wait\s*=\s*(?:"(\d{1,10})"|(\d{1,10}))\s*(?:;.*)?$/i.exec(preference);
      if (match) return Math.min(Number(match[1] ?? match[2]), MAX_WAIT_SECONDS);
    }
  }
  return undefined;
}
