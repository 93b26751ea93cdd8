/**
 * solve(problem, options, hooks): the one entry point used by the CLI, the worker, tests and benchmarks.
 * Pure and synchronous: no I/O; progress leaves only through hooks.onIterate, and hooks.signal stops the
 * run between iterations.
 */
import { SolverError } from './errors.js';
import { type Derivatives, LeverageModel, type Point } from './leverage-model.js';
import { searchStep, wallLimit } from './line-search.js';
import { resolveOptions } from './options.js';
import { analyticCentre } from './start-point.js';
import { type Direction, gaussNewtonDirection, newtonDirection } from './step-direction.js';
import type { Iterate, Problem, SolveHooks, SolveOptions, SolveResult, StopReason } from './types.js';
import { validateProblem } from './validate.js';

/** Solves an inverse leverage score problem (see MATH.md). Throws SolverError for bad or ill-posed input. */
export function solve(
  problem: Problem,
  options: Partial<SolveOptions> = {},
  hooks: SolveHooks = {},
): SolveResult {
  const now = hooks.now ?? (() => performance.now());
  const began = now();
  const opts = resolveOptions(options);
  validateProblem(problem);
  const warnings = targetWarnings(problem);
  const start = problem.x0 ? Float64Array.from(problem.x0) : analyticCentre(problem);
  const startMs = now() - began;

  const model = new LeverageModel(problem);
  const { method } = opts;
  const evaluate = (pt: Point): Derivatives =>
    model.derivatives(pt, { hessian: method === 'newton', jacobian: method === 'gauss-newton' });

  let point = model.at(start);
  let der = evaluate(point);
  let gradNorm = checkedNorm(point, der, 0);
  const kept: Iterate[] = [];
  let last: Iterate = { iteration: 0, loss: point.loss, gradNorm, step: 0, shift: 0 };
  const emit = (it: Iterate): void => {
    last = it;
    hooks.onIterate?.(it);
    if (it.iteration % opts.record.every === 0) kept.push(recordOf(it, opts.record.includeX));
  };
  emit({ ...last, x: Array.from(point.x) });

  let reason: StopReason;
  let previousLoss = Number.NaN;
  let trialStep = opts.stepSize;
  const armijo = opts.lineSearch === 'armijo';
  for (let iteration = 1; ; iteration++) {
    if (gradNorm <= opts.tolerance) {
      reason = 'gradient-tolerance';
      break;
    }
    if (opts.lossChangeTolerance > 0 && lossSettled(previousLoss, point.loss, opts.lossChangeTolerance)) {
      reason = 'loss-change';
      break;
    }
    if (iteration > opts.maxIterations) {
      reason = 'max-iterations';
      break;
    }
    if (hooks.signal?.aborted) {
      reason = 'aborted';
      break;
    }
    if ((now() - began) / 1000 >= opts.maxSeconds) {
      reason = 'max-seconds';
      break;
    }

    const direction = directionFor(opts, model, point, der);
    if (!direction) throw breakdown(iteration, 'no finite search direction');
    const alpha0 = method === 'gd' ? trialStep : 1;
    const step = searchStep(model, point, der.gradient, direction.p, alpha0, armijo);
    if (!step) {
      reason = 'line-search-failed';
      break;
    }
    // gd lets an accepted step grow for the next trial (MATH.md, gradient descent).
    if (method === 'gd' && armijo) trialStep = 2 * step.alpha;
    previousLoss = point.loss;
    point = step.point;
    der = evaluate(point);
    gradNorm = checkedNorm(point, der, iteration);
    emit({
      iteration,
      loss: point.loss,
      gradNorm,
      step: step.alpha,
      shift: direction.shift,
      x: Array.from(point.x),
    });
  }
  if (kept[kept.length - 1]?.iteration !== last.iteration) kept.push(recordOf(last, opts.record.includeX));

  const converged = reason === 'gradient-tolerance' || reason === 'loss-change';
  let maxAbsResidual = 0;
  for (const r of point.rho) maxAbsResidual = Math.max(maxAbsResidual, Math.abs(r));
  if (!converged) {
    warnings.push(
      `stopped (${reason}) after ${last.iteration} iterations with gradient norm ` +
        `${gradNorm.toExponential(3)} > tolerance ${opts.tolerance}`,
    );
  } else if (maxAbsResidual > 1e-6) {
    warnings.push(
      `converged to a point whose scores differ from the target by up to ${maxAbsResidual.toExponential(3)}: ` +
        'a local minimum, or targets that no x reaches exactly',
    );
  }
  const end = now();
  return {
    method,
    x: Array.from(point.x),
    loss: point.loss,
    gradNorm,
    iterations: last.iteration,
    converged,
    reason,
    leverage: Array.from(point.lev),
    maxAbsResidual,
    start: Array.from(start),
    timings: { startMs, solveMs: end - began - startMs, totalMs: end - began },
    warnings,
    iterates: kept,
  };
}

function directionFor(
  opts: SolveOptions,
  model: LeverageModel,
  point: Point,
  der: Derivatives,
): Direction | null {
  switch (opts.method) {
    case 'newton': {
      // Beyond the paper's plain step, a shift only "works" when the full step also stays inside the
      // cell: a nearly singular H + lambda I otherwise aims far past a wall, and the fraction-to-boundary
      // rule then parks the iterate against it (seen on testdata/tiny from its centre).
      const insideCell = (p: Float64Array): boolean => wallLimit(point.s, model.apply(p)) > 1;
      return newtonDirection(
        der.hessian!,
        der.gradient,
        model.d,
        opts.lineSearch === 'none' ? undefined : insideCell,
      );
    }
    case 'gauss-newton':
      return gaussNewtonDirection(
        der.jacobian!,
        point.rho,
        model.regRows(),
        model.regResidual(point.x),
        model.n,
        model.d,
      );
    case 'gd':
      return { p: der.gradient.map((v) => -v), shift: 0 };
  }
}

/** ||g||, after checking that the loss and the gradient are finite (else a breakdown, never a NaN result). */
function checkedNorm(point: Point, der: Derivatives, iteration: number): number {
  let sq = 0;
  for (const v of der.gradient) sq += v * v;
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(point.loss)) throw breakdown(iteration, `the loss is ${point.loss}`);
  if (!Number.isFinite(norm)) throw breakdown(iteration, `the gradient norm is ${norm}`);
  return norm;
}

function lossSettled(previous: number, current: number, tolerance: number): boolean {
  return Number.isFinite(previous) && Math.abs(previous - current) <= tolerance * Math.max(previous, 1e-300);
}

function recordOf(it: Iterate, includeX: boolean): Iterate {
  if (includeX) return it;
  const { x: _x, ...rest } = it;
  return rest;
}

/** Facts about the target that make an exact fit impossible; the solve still runs (least squares). */
function targetWarnings(problem: Problem): string[] {
  const { n, d, sigma } = problem;
  const warnings: string[] = [];
  let sum = 0;
  for (const v of sigma) sum += v;
  if (Math.abs(sum - d) > 1e-6 * d) {
    warnings.push(
      `the target scores sum to ${sum.toPrecision(8)}, not d = ${d}: leverage scores of a full-rank ` +
        'n x d matrix always sum to d, so they can only be fit in least squares',
    );
  }
  let ones = 0;
  for (let i = 0; i < n; i++) if (sigma[i] === 1) ones++;
  if (ones > 0) {
    warnings.push(
      `${ones} target score(s) equal 1, which is reached only on a wall (a zero slack), never inside`,
    );
  }
  return warnings;
}

function breakdown(iteration: number, what: string): SolverError {
  return new SolverError('NUMERICAL_BREAKDOWN', `numerical breakdown at iteration ${iteration}: ${what}`);
}
