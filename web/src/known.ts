/**
 * What the page knows of a problem it submitted and the API does not give back: the target scores sigma,
 * the generator's xStar and, for a problem the page generated, the generator's cell, by job id, for the
 * plots and the cell line. In memory, and in sessionStorage while small enough, so a reload of the tab
 * keeps them.
 */
export interface KnownVectors {
  sigma?: number[];
  xStar?: number[];
  /** the generator's signs of A xStar - b: only for problems generated in this page (never sent) */
  cell?: number[];
}

const PREFIX = 'levinv.known.';
/** sessionStorage holds a few MB per origin: big problems stay in memory only. */
const MAX_STORED_CHARS = 1_000_000;
const memory = new Map<string, KnownVectors>();

const numbers = (v: unknown): number[] | undefined =>
  Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;

/**
 * The vectors of a problem document (JSON), when they are there. Not its `signs`: those were sent, so the
 * solver was told the cell rather than finding it.
 */
export function vectorsOf(problem: unknown): KnownVectors {
  if (!problem || typeof problem !== 'object') return {};
  const { sigma, xStar } = problem as Record<string, unknown>;
  const s = numbers(sigma);
  const x = numbers(xStar);
  return { ...(s ? { sigma: s } : {}), ...(x ? { xStar: x } : {}) };
}

/** What remember() stored: a problem document's vectors and the generator's cell. */
function storedVectors(stored: unknown): KnownVectors {
  const cell = numbers((stored as Record<string, unknown> | null)?.cell);
  return { ...vectorsOf(stored), ...(cell ? { cell } : {}) };
}

export function remember(id: string, vectors: KnownVectors): void {
  if (!vectors.sigma && !vectors.xStar && !vectors.cell) return;
  memory.set(id, vectors);
  const text = JSON.stringify(vectors);
  if (text.length > MAX_STORED_CHARS) return;
  try {
    sessionStorage.setItem(PREFIX + id, text);
  } catch {
    // full: memory only
  }
}

export function recall(id: string): KnownVectors {
  const held = memory.get(id);
  if (held) return held;
  const text = sessionStorage.getItem(PREFIX + id);
  if (!text) return {};
  try {
    return storedVectors(JSON.parse(text));
  } catch {
    return {};
  }
}

export function forget(id: string): void {
  memory.delete(id);
  sessionStorage.removeItem(PREFIX + id);
}
