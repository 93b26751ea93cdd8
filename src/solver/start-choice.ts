/**
 * The run's start: x0 when given; otherwise the global start (global-start.ts) by default, or the analytic
 * centre of the cell (start-point.ts) when asked for, or when the global start finds nothing usable (a
 * target score of 0, or, with `signs`, an answer outside that cell).
 */
import { globalStart } from './global-start.js';
import type { Kernels } from './kernels.js';
import { analyticCentre } from './start-point.js';
import type { Stopper } from './stop.js';
import type { Problem, StartChoice, StartInfo } from './types.js';
import { signsAt } from './validate.js';

export interface ChosenStart {
  x: Float64Array;
  info: StartInfo;
  /** why the global start was not used, when it was asked for */
  warning?: string;
}

export function chooseStart(
  problem: Problem,
  choice: StartChoice,
  kernels: Kernels,
  stop: Stopper,
  release?: (buffer: Float64Array) => void,
): ChosenStart {
  if (problem.x0) return { x: problem.x0.slice(), info: { method: 'x0' } };
  if (choice === 'global') {
    const found = globalStart(problem, kernels, stop, problem.signs);
    if (found) {
      const info: StartInfo = { method: problem.signs ? 'global-signs' : 'global' };
      if (found.ambiguity) info.ambiguity = found.ambiguity;
      return { x: found.x, info };
    }
  }
  const x = analyticCentre(problem, stop, kernels, release);
  if (choice === 'centre') return { x, info: { method: 'centre' } };
  return {
    x,
    info: { method: 'centre' },
    warning: problem.signs
      ? 'the point with the target scores found from the scores alone is not in the cell `signs` names: ' +
        "started from that cell's analytic centre"
      : 'no start could be found from the scores alone (a target score of 0?): started from the analytic ' +
        'centre of the all-positive cell',
  };
}

/** The sign of each slack a_i^T x - b_i at x (+1 for 0, which no iterate has), and how many are negative. */
export function cellOf(problem: Problem, x: ArrayLike<number>): { signs: number[]; negative: number } {
  const signs = Array.from(signsAt(problem, x));
  return { signs, negative: signs.filter((s) => s < 0).length };
}
