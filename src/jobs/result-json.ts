/**
 * A result's JSON as stored and as the done event shows it. The stored result keeps `signs` (n values, the
 * cell of x) for GET /jobs/{id}/result/signs.npy; the done event, like GET /jobs/{id}, leaves it out, so a
 * stream of a large job does not carry n more numbers than the API documents.
 */
import type { JobResult } from './types.js';

/** Both forms from one serialization of the rest: `signs` goes last, spliced on. */
export function resultJson(result: JobResult): { stored: string; shown: string } {
  const { signs, ...rest } = result;
  const shown = JSON.stringify(rest);
  if (!signs) return { stored: shown, shown };
  return { stored: `${shown.slice(0, -1)},"signs":${JSON.stringify(signs)}}`, shown };
}

/** The shown form of a stored result ('' for none): the rare path of closing a job again. */
export function shownResultJson(stored: string): string {
  if (stored === '') return '';
  const { signs: _signs, ...rest } = JSON.parse(stored) as JobResult;
  return JSON.stringify(rest);
}
