/**
 * Compact stored forms. An iterate is kept as a JSON array `[iteration, loss, gradNorm, step, shift]`, with
 * `x` as a sixth element when recorded: a gd run keeps up to 20000 of them, so field names would double the
 * list's size. JSON.stringify writes the shortest text that reads back as the same double, so the numbers
 * round-trip exactly.
 */
import type { Iterate } from '../solver/index.js';

type IterateRecord =
  | [number, number, number, number, number]
  | [number, number, number, number, number, number[]];

export function encodeIterate(it: Iterate, includeX: boolean): string {
  const record: IterateRecord =
    includeX && it.x
      ? [it.iteration, it.loss, it.gradNorm, it.step, it.shift, it.x]
      : [it.iteration, it.loss, it.gradNorm, it.step, it.shift];
  return JSON.stringify(record);
}

export function decodeIterate(text: string): Iterate {
  const r = JSON.parse(text) as IterateRecord;
  const it: Iterate = { iteration: r[0], loss: r[1], gradNorm: r[2], step: r[3], shift: r[4] };
  if (r.length === 6) it.x = r[5];
  return it;
}
