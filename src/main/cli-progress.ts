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
