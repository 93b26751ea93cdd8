/** Live solver progress on a terminal: one line, rewritten in place. */
import type { Writable } from 'node:stream';
import type { Iterate } from '../solver/index.js';

/** gd can run 20000 iterations; redrawing each would cost more terminal time than it shows. */
const MIN_REDRAW_MS = 50;

export interface Progress {
  update(iterate: Iterate): void;
  /** Shows the last iterate and ends the line, so later output starts on a fresh one. */
  end(): void;
}

export function formatIterate(iterate: Iterate): string {
  return `  iter ${iterate.iteration}  loss ${iterate.loss.toExponential(1)}  |g| ${iterate.gradNorm.toExponential(1)}`;
}

/** What a result says of its start (the fields are absent in results stored before they existed). */
export interface StartSummary {
  startMethod?: string;
  negativeSlacks?: number;
  ambiguity?: string;
}

/**
 * The line after the progress: how the start was found and how many of the n slacks are negative (the
 * cell x lies in), then the ambiguity, if any, on a line of its own: a terminal user should not have to
 * dig them out of the JSON to learn that x is one of several answers. '' when the result has none of them.
 */
export function formatStart(result: StartSummary, n: number): string {
  const parts = [];
  if (result.startMethod !== undefined) parts.push(`start ${result.startMethod}`);
  if (result.negativeSlacks !== undefined) parts.push(`negative slacks ${result.negativeSlacks} of ${n}`);
  const lines = parts.length > 0 ? [`  ${parts.join('  ')}`] : [];
  if (result.ambiguity) lines.push(`  note: ${result.ambiguity}`);
  return lines.map((line) => `${line}\n`).join('');
}

export function createProgress(stream: Writable, now: () => number = Date.now): Progress {
  let lastDraw = Number.NEGATIVE_INFINITY;
  let pending: Iterate | undefined;
  let drawn = false;
  const draw = (iterate: Iterate): void => {
    // \x1b[K clears what a longer previous line left behind.
    stream.write(`\r${formatIterate(iterate)}\x1b[K`);
    drawn = true;
    pending = undefined;
  };
  return {
    update(iterate) {
      const t = now();
      if (t - lastDraw >= MIN_REDRAW_MS) {
        lastDraw = t;
        draw(iterate);
      } else {
        pending = iterate;
      }
    },
    end() {
      if (pending) draw(pending);
      if (drawn) stream.write('\n');
    },
  };
}
