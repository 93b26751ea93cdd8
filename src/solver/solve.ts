/**
 * solve(problem, options, hooks): the one entry point used by the CLI, the worker, tests and benchmarks.
 * Pure and synchronous: no I/O; progress leaves only through hooks.onIterate (with a checkpoint that
 * hooks.resume continues from), and hooks.signal and maxSeconds stop the run from inside its long phases.
 */
import { SolverError } from './errors.js';
import { HOMOGENEOUS } from './global-start.js';
import { type Derivatives, LeverageModel, type Point } from './leverage-model.js';
import { searchStep, wallLimit } from './line-search.js';
import { resolveOptions } from './options.js';
import { IterateRecorder } from './recorder.js';
import { stepBelowRounding } from './settled.js';
import { cellOf, chooseStart } from './start-choice.js';
import { type Direction, gaussNewtonDirection, newtonDirection } from './step-direction.js';
import { Stopper, StopRequested } from './stop.js';
import type {
  Checkpoint,
  Iterate,
  Problem,
  SolveHooks,
  SolveOptions,
  SolveResult,
  StartInfo,
  StopReason,
} from './types.js';
import { validateCheckpoint, validateProblem } from './validate.js';

/**
 * Solves an inverse leverage score problem (docs/MATH.md, "Algorithms"). Throws SolverError for bad or
 * ill-posed input.
 */
export function solve(
  problem: Problem,
  options: Partial<SolveOptions> = {},
  hooks: SolveHooks = {},
): SolveResult {
  const now = hooks.now ?? (() => performance.now());
  const began = now();
  const opts = resolveOptions(options);
  const { resume } = hooks;
  const spentMs = resume?.elapsedMs ?? 0;
  const deadline = began + opts.maxSeconds * 1000 - spentMs;
  // A resumed run has already spent resume.elapsedMs of its budget. Its time runs out only once it has
  // recomputed the checkpoint's iterate, so that a run resumed with no time left still ends with a
  // result (reason max-seconds, at that iterate) rather than an error.
  const stop = new Stopper(hooks.signal, now, resume ? Infinity : deadline);
  const { method } = opts;

  // Until the first iterate exists there is no result to return: a stop is an error.
  let model: LeverageModel;
  let start: Float64Array;
  let startInfo: StartInfo;
  let startWarning: string | undefined;
  let startMs: number;
  let point: Point;
  let gradNorm: number;
  try {
    validateProblem(problem, stop);
    if (resume) validateCheckpoint(problem, resume);
    // Bad input is reported as such even when the run is also asked to stop.
    stop.check();
    model = new LeverageModel(problem, stop);
    if (resume) {
      start = Float64Array.from(resume.start);
      startInfo = resume.startInfo ?? { method: problem.x0 ? 'x0' : 'centre' };
    } else {
      const chosen = chooseStart(problem, opts.start, model.kernels, stop, (buffer) => model.reuse(buffer));
      start = chosen.x;
      startInfo = chosen.info;
      startWarning = chosen.warning;
    }
    startMs = resume ? resume.startMs : now() - began;
    point = model.at(resume ? Float64Array.from(resume.x) : start);
    gradNorm = checkedNorm(point, model.derivatives(point, {}), resume?.iteration ?? 0);
  } catch (error) {
    throw error instanceof StopRequested ? beforeFirstIterate(error) : error;
  }
  stop.deadline = deadline;

  const warnings = targetWarnings(problem);
  if (startWarning) warnings.push(startWarning);
  // the start never changes: one copy for every checkpoint (a gd run reports tens of thousands)
  const startList = Array.from(start);
  const recorder = new IterateRecorder(opts.record);
  const armijo = opts.lineSearch === 'armijo';
  // gd's trial step grows after each success (docs/MATH.md, "Gradient descent"), so it is part of the state.
  let trialStep = method === 'gd' ? (resume?.trialStep ?? opts.stepSize) : 1;
  let previousLoss = resume?.previousLoss ?? Number.NaN;
  let lastIteration = resume?.iteration ?? 0;
  const emit = (it: Iterate): void => {
    lastIteration = it.iteration;
    const checkpoint: Checkpoint = {
      iteration: it.iteration,
      x: Array.from(point.x),
      trialStep,
      previousLoss: Number.isFinite(previousLoss) ? previousLoss : null,
      start: startList,
      startMs,
      elapsedMs: spentMs + now() - began,
      startInfo,
    };
    hooks.onIterate?.(it, checkpoint);
    recorder.offer(it);
  };
  // A resumed run's caller already has the checkpoint's iterate: it goes on with the next one.
  if (!resume) emit({ iteration: 0, loss: point.loss, gradNorm, step: 0, shift: 0, x: Array.from(point.x) });

  let reason: StopReason;
  for (let iteration = lastIteration + 1; ; iteration++) {
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
    const due = stop.due();
    if (due) {
      reason = due;
      break;
    }

    let next: Advance;
    try {
      next = advance(opts, problem, model, point, trialStep, armijo, iteration);
    } catch (error) {
      // Stopped inside the step: the run ends at the last complete iterate.
      if (!(error instanceof StopRequested)) throw error;
      reason = error.reason;
      break;
    }
    if (next === 'line-search-failed' || next === 'step-rounding') {
      reason = next;
      break;
    }
    if (method === 'gd' && armijo) trialStep = 2 * next.alpha;
    previousLoss = point.loss;
    // nothing reads the old iterate again (its x was copied into the checkpoint): its arrays are reused
    model.recycle(point);
    point = next.point;
    gradNorm = next.gradNorm;
    emit({
      iteration,
      loss: point.loss,
      gradNorm,
      step: next.alpha,
      shift: next.shift,
      x: Array.from(point.x),
    });
  }
  const recorded = recorder.finish();
  if (recorded.warning) warnings.push(recorded.warning);

  const converged = reason === 'gradient-tolerance' || reason === 'loss-change' || reason === 'step-rounding';
  let maxAbsResidual = 0;
  for (const r of point.rho) maxAbsResidual = Math.max(maxAbsResidual, Math.abs(r));
  if (!converged) {
    warnings.push(
      `stopped (${reason}) after ${lastIteration} iterations with gradient norm ` +
        `${gradNorm.toExponential(3)} > tolerance ${opts.tolerance}`,
    );
  } else if (maxAbsResidual > 1e-6) {
    warnings.push(
      `converged to a point whose scores differ from the target by up to ${maxAbsResidual.toExponential(3)}: ` +
        'a local minimum, or targets that no x reaches exactly',
    );
  }
  const totalMs = spentMs + now() - began;
  const cell = cellOf(problem, point.x);
  // b = 0: sigma(c x) = sigma(x) for every c != 0, and -x is the one in the opposite cell
  const homogeneous = problem.b.every((v) => v === 0);
  return {
    method,
    x: Array.from(point.x),
    loss: point.loss,
    gradNorm,
    iterations: lastIteration,
    converged,
    reason,
    leverage: Array.from(point.lev),
    maxAbsResidual,
    start: Array.from(start),
    startMethod: startInfo.method,
    signs: cell.signs,
    negativeSlacks: cell.negative,
    ...(homogeneous
      ? { ambiguity: HOMOGENEOUS, alternatives: [Array.from(point.x, (v) => -v)] }
      : startInfo.ambiguity
        ? { ambiguity: startInfo.ambiguity }
        : {}),
    timings: {
      startMs,
      solveMs: totalMs - startMs,
      totalMs,
      threads: model.kernels.threadsFor(model.n, model.d),
    },
    warnings,
    iterates: recorded.iterates,
  };
}

type Advance =
  | { point: Point; gradNorm: number; alpha: number; shift: number }
  | 'line-search-failed'
  | 'step-rounding';

/**
 * One iteration from `point`: the second-order terms the method needs, the direction, the step, and the
 * gradient at the new point. `line-search-failed` when the line search finds no acceptable step;
 * `step-rounding` when an unshifted Newton or Gauss-Newton step would change no slack beyond rounding
 * (settled.ts): `point` is then the answer. That test depends on `point` alone, so a run resumed from any
 * checkpoint stops where the uninterrupted run did.
 */
function advance(
  opts: SolveOptions,
  problem: Problem,
  model: LeverageModel,
  point: Point,
  trialStep: number,
  armijo: boolean,
  iteration: number,
): Advance {
  const { method } = opts;
  // The iterate was reported with its gradient alone; the Hessian or Jacobian (the O(n d^3) part) is
  // computed here, so that a stop inside it still leaves that iterate as the result. Same code, same
  // gradient bit for bit.
  const der = model.derivatives(point, { hessian: method === 'newton', jacobian: method === 'gauss-newton' });
  const direction = directionFor(opts, model, point, der);
  if (!direction) throw breakdown(iteration, 'no finite search direction');
  if (
    method !== 'gd' &&
    direction.shift === 0 &&
    stepBelowRounding(problem.A, problem.b, model.n, model.d, point.x, model.apply(direction.p))
  ) {
    return 'step-rounding';
  }
  const step = searchStep(model, point, der.gradient, direction.p, trialStep, armijo);
  if (!step) return 'line-search-failed';
  const gradNorm = checkedNorm(step.point, model.derivatives(step.point, {}), iteration);
  return { point: step.point, gradNorm, alpha: step.alpha, shift: direction.shift };
}

function beforeFirstIterate(stop: StopRequested): SolverError {
  return stop.reason === 'aborted'
    ? new SolverError('ABORTED', 'the solve was aborted before its first iterate')
    : new SolverError(
        'TIME_LIMIT',
        'maxSeconds ran out before the first iterate (while finding the start point)',
        'maxSeconds',
      );
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
        model.stop,
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
        model.kernels,
        model.stop,
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
