/**
 * A job as the API shows it: GET /jobs/{id} (and every answer that carries a job, and a webhook's body),
 * its pages, its iterates and its webhook deliveries.
 *
 * Schemas registered with an `id` become named components (`#/components/schemas/Job`) in the OpenAPI
 * document instead of being repeated inline in every response.
 */
import { z } from 'zod';
import { JOB_STATES, METHODS, START_METHODS, STOP_REASONS } from './enums.js';
import { WEBHOOK_EVENTS } from './webhook.js';

/** The delivery attempts GET /jobs/{id}/deliveries shows at most (the latest). */
export const MAX_DELIVERIES = 100;

/**
 * A float from the solver. Non-finite values cannot exist in JSON (JSON.stringify writes null) and a stored
 * result may already carry that null, so serialization must not turn such a job into a 500.
 */
const float = z
  .custom<number | null>((v) => typeof v === 'number' || v === null, 'expected a number')
  .meta({ type: ['number', 'null'], description: 'a float; null where the value is not finite' });

const floats = z.array(float);

export const jobStateSchema = z.enum(JOB_STATES).meta({
  description: 'queued -> running -> succeeded | failed | cancelled (a queued job may be cancelled directly)',
});

export const iterateSchema = z
  .object({
    iteration: z.int().min(0).meta({ description: '0 is the start point' }),
    loss: float,
    gradNorm: float,
    step: float.meta({ description: 'the step length taken to reach this iterate (0 at the start)' }),
    shift: float.meta({ description: 'the Hessian shift used for the step' }),
    x: floats.optional().meta({ description: 'absent when the request set options.record.includeX false' }),
  })
  .meta({ id: 'Iterate' });

const progressSchema = z
  .object({ iteration: z.int().min(0), loss: float, gradNorm: float })
  .meta({ id: 'Progress', description: 'the latest iterate the worker reported' });

const jobResultSchema = z
  .object({
    method: z.enum(METHODS),
    x: floats,
    loss: float,
    gradNorm: float,
    iterations: z.int().min(0),
    converged: z.boolean(),
    reason: z.enum(STOP_REASONS),
    leverage: floats.meta({ description: 'sigma(x) at the returned x' }),
    maxAbsResidual: float.meta({ description: 'max_i |sigma_i(x) - sigma_i|' }),
    start: floats.meta({ description: 'the start point actually used' }),
    // Optional: results stored before the solver reported them lack them, and a GET must not fail on those.
    startMethod: z
      .enum(START_METHODS)
      .optional()
      .meta({
        description:
          'how the start was found: `x0` (given), `global` (from A, b and sigma alone: x and its cell), ' +
          '`global-signs` (the same, in the cell `signs` names), `centre` (the analytic centre of the cell)',
      }),
    negativeSlacks: z.int().min(0).optional().meta({
      description:
        'how many slacks a_i^T x - b_i are negative at x; the cell itself (+1/-1 per row) is `signs.npy`',
    }),
    ambiguity: z.string().optional().meta({
      description:
        'set when other points may have the same scores (b = 0, too few rows, ...): why, and what would settle it',
    }),
    alternatives: z.array(floats).optional().meta({
      description: 'other points with exactly the scores of x (b = 0: -x)',
    }),
    timings: z.object({
      startMs: float,
      solveMs: float,
      totalMs: float,
      threads: z
        .int()
        .min(1)
        .optional()
        .meta({ description: 'threads the row loops ran on (SOLVER_THREADS; 1 for small problems)' }),
    }),
    warnings: z.array(z.string()),
    relError: float
      .optional()
      .meta({ description: '||x - xStar|| / ||xStar||, when the problem carried xStar' }),
  })
  .meta({ id: 'JobResult' });

const jobErrorSchema = z
  .object({
    code: z
      .string()
      .meta({ description: 'the solver error code (RANK_DEFICIENT, EMPTY_CELL, ...) or INTERNAL' }),
    message: z.string(),
    field: z.string().optional(),
  })
  .meta({ id: 'JobError' });

const timestamp = z.string().meta({ format: 'date-time' });

const iteratesSummarySchema = z
  .object({
    recorded: z
      .int()
      .min(0)
      .meta({ description: 'iterates recorded so far (what `/iterates` pages through)' }),
    limit: z.int().min(1).meta({ description: 'at most this many are kept (MAX_RECORDED_ITERATES)' }),
    truncated: z.boolean().meta({
      description: 'true when more were made than kept: the first limit - 1 are kept, then always the latest',
    }),
  })
  .meta({ id: 'IteratesSummary', description: 'what was recorded of the iterates' });

export const jobSchema = z
  .object({
    id: z.string(),
    state: jobStateSchema,
    done: z.boolean().meta({ description: 'true exactly when `result` or `error` is set' }),
    method: z.enum(METHODS),
    n: z.int().min(1),
    d: z.int().min(1),
    createdAt: timestamp,
    startedAt: timestamp.nullable(),
    finishedAt: timestamp.nullable(),
    progress: progressSchema.nullable(),
    resumes: z.int().min(0).meta({
      description:
        'how often another worker took the job over from its checkpoint (a worker died or lost the job)',
    }),
    iterates: iteratesSummarySchema,
    result: jobResultSchema.optional(),
    error: jobErrorSchema.optional(),
  })
  .meta({ id: 'Job' });

/**
 * The result's vectors served as .npy files (GET /jobs/{id}/result/{vector}). `signs` (n values) is served
 * only there: the JSON result leaves it out.
 */
export const resultVectorSchema = z
  .enum(['leverage.npy', 'x.npy', 'signs.npy'])
  .meta({ description: 'which vector' });

export const jobPageSchema = z
  .object({
    items: z.array(jobSchema),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'pass as `cursor` for the next page; null at the end' }),
  })
  .meta({ id: 'JobPage' });

export const iteratePageSchema = z
  .object({
    items: z.array(iterateSchema),
    nextOffset: z.int().min(0).meta({ description: 'the offset of the next unread iterate' }),
  })
  .meta({ id: 'IteratePage' });

export const deliveriesSchema = z
  .object({
    items: z.array(
      z.object({
        event: z.enum(WEBHOOK_EVENTS),
        attempt: z.int().min(1).meta({ description: '1 for the first attempt of this message' }),
        statusCode: z.int().optional().meta({ description: "the receiver's HTTP status, when it answered" }),
        error: z
          .string()
          .optional()
          .meta({ description: 'why the attempt failed (network, timeout, status, refused address)' }),
        at: timestamp.meta({ description: 'when the attempt started' }),
        durationMs: z.number().min(0),
        deliveryId: z
          .string()
          .meta({ description: 'the `webhook-id` header: the same for every attempt of one message' }),
      }),
    ),
  })
  .meta({
    id: 'Deliveries',
    description: `the webhook delivery attempts, oldest first (the last ${MAX_DELIVERIES})`,
  });
