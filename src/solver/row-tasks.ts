/**
 * One kernel call on one range of rows, as the threads of kernels-parallel.ts share it out: the same
 * function runs the calling thread's share and each helper thread's (team-thread.ts), so all of them
 * slice, compute and write back alike.
 *
 * Row outputs go straight to their rows of shared arrays; sums over the rows (Gram matrices, moments,
 * the blocks' R) go to the task's slot of `partial`, which the caller adds up in slot order, so a given
 * thread count always gives the same bits.
 */
import type { Kernels } from './kernel-interface.js';
import { tripleCount } from './kernels-js.js';
import { NO_STOP, type Stopper } from './stop.js';

export type RowOp =
  | 'thinQr'
  | 'weightedGram'
  | 'rowSquares'
  | 'quadForms'
  | 'combineRows'
  | 'thirdMoments'
  | 'pairRows'
  | 'multiplyRows'
  | 'rowTerms';

export interface RowTask {
  op: RowOp;
  d: number;
  /** rows [i0, i1) */
  i0: number;
  i1: number;
  /** this share's place among the shares (its slot of `partial`, its block of a per-share matrix) */
  slot: number;
  /** inputs with one entry or one row of d per row (sliced here), and whole ones (G, C, S), by name */
  input: Record<string, Float64Array>;
  /** outputs with one entry or one row of d per row */
  output: Record<string, Float64Array>;
  /** the slots of the row sums, `slot * partialLength` onwards */
  partial: Float64Array | null;
  hessian?: boolean;
}

/** How many numbers one share's row sum has (0: the op has none). */
export function partialLength(op: RowOp, d: number, hessian = false): number {
  switch (op) {
    case 'thinQr':
    case 'weightedGram':
      return d * d;
    case 'rowTerms':
      return hessian ? d * d : 0;
    case 'combineRows':
      return d;
    case 'thirdMoments':
      return tripleCount(d);
    default:
      return 0;
  }
}

/** Runs `task` with `kernels`; `stop` is polled by the calling thread's share only. */
export function runRowTask(kernels: Kernels, task: RowTask, stop: Stopper = NO_STOP): void {
  const { op, d, i0, i1, slot, input, output } = task;
  const r = i1 - i0;
  const rows = (name: string): Float64Array => input[name].subarray(i0 * d, i1 * d);
  const entries = (name: string): Float64Array => input[name].subarray(i0, i1);
  // this range's rows of an n x d output, written by the kernel in place
  const into = (name: string): Float64Array => output[name].subarray(i0 * d, i1 * d);
  const sum = (values: Float64Array): void => {
    task.partial!.set(values, slot * values.length);
  };
  switch (op) {
    case 'thinQr': {
      sum(kernels.thinQr(rows('ax'), r, d, stop, into('u')).r);
      return;
    }
    case 'weightedGram':
      sum(kernels.weightedGram(rows('A'), r, d, entries('w'), stop));
      return;
    case 'rowSquares':
      output.out.set(kernels.rowSquares(rows('u'), r, d), i0);
      return;
    case 'quadForms':
      output.out.set(kernels.quadForms(rows('u'), r, d, input.G, stop), i0);
      return;
    case 'combineRows':
      sum(kernels.combineRows(rows('a'), r, d, entries('c')));
      return;
    case 'thirdMoments':
      sum(kernels.thirdMoments(rows('u'), r, d, stop));
      return;
    case 'pairRows':
      kernels.pairRows(rows('u'), r, d, input.C, stop, into('out'));
      return;
    case 'multiplyRows':
      // each share has its own d x d factor: block `slot` of S
      kernels.multiplyRows(rows('u'), r, d, input.S.subarray(slot * d * d, (slot + 1) * d * d), into('out'));
      return;
    case 'rowTerms': {
      const terms = kernels.rowTerms(
        rows('ax'),
        rows('p2ax'),
        entries('lev'),
        entries('rho'),
        entries('p2rho'),
        r,
        d,
        task.hessian === true,
        stop,
        into('bax'),
      );
      if (terms.H) sum(terms.H);
      return;
    }
  }
}
