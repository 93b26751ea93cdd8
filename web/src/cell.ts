/**
 * The cell the solver found (the signs of A x - b, from signs.npy) against the cell the page's generator
 * drew (the signs of A xStar - b). The global start finds the cell from A, b and sigma alone, so for a
 * generated problem, sent without signs or x0, agreement in every row is what recovery looks like.
 * DOM-free, so Node tests it.
 */

export interface CellComparison {
  n: number;
  /** rows whose found slack is negative */
  negative: number;
  /** rows whose found sign equals the generator's */
  agree: number;
  /** the first few rows (0-based) that differ, to look at */
  differing: number[];
}

/** How many differing rows the text names. */
const LISTED = 5;

/** Undefined when the lengths differ (the result is not of this problem). */
export function compareCells(
  found: ArrayLike<number>,
  generator: ArrayLike<number>,
): CellComparison | undefined {
  if (found.length !== generator.length) return undefined;
  let negative = 0;
  let agree = 0;
  const differing: number[] = [];
  for (let i = 0; i < found.length; i++) {
    if (found[i] < 0) negative++;
    // a NaN sign (a slack the solver could not evaluate) agrees with nothing
    if (found[i] === generator[i]) agree++;
    else if (differing.length < LISTED) differing.push(i);
  }
  return { n: found.length, negative, agree, differing };
}

export function cellText({ n, negative, agree, differing }: CellComparison): string {
  const head = `${negative} of ${n} negative`;
  if (agree === n) return `${head}; matches the generator's (${n} of ${n} rows)`;
  const rows = n - agree;
  const listed = differing.join(', ') + (rows > differing.length ? ', ...' : '');
  const which = rows === 1 ? `row index ${listed}` : `row indices ${listed}`;
  return `${head}; differs from the generator's in ${rows} row${rows === 1 ? '' : 's'} (${agree} of ${n} agree; ${which})`;
}
