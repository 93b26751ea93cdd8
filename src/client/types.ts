/**
 * The client's request and response types, taken from the API's contract (src/contract: the zod schemas
 * that validate the API and generate openapi.yaml), so the two cannot drift. Type imports only: the
 * client's runtime needs no zod.
 */
import type { z } from 'zod';
import type {
  deliveriesSchema,
  iteratePageSchema,
  iterateSchema,
  jobPageSchema,
  jobSchema,
  jobStateSchema,
  resultVectorSchema,
} from '../contract/job.js';
import type { NpyPart } from '../contract/npy.js';
import type { problemDetailsSchema } from '../contract/problem-details.js';
import type { solveBodySchema } from '../contract/solve.js';

/** A job as GET /jobs/{id} returns it. */
export type Job = z.output<typeof jobSchema>;
export type JobState = z.output<typeof jobStateSchema>;
export type JobResult = NonNullable<Job['result']>;
export type JobPage = z.output<typeof jobPageSchema>;
/** A vector of GET /jobs/{id}/result/{vector}, named without `.npy`: `leverage`, `x` or `signs`. */
export type ResultVector = z.output<typeof resultVectorSchema> extends `${infer V}.npy` ? V : never;
export type Iterate = z.output<typeof iterateSchema>;
export type IteratePage = z.output<typeof iteratePageSchema>;
/** A job's webhook deliveries, oldest first (GET /jobs/{id}/deliveries). */
export type Deliveries = z.output<typeof deliveriesSchema>;
/** The JSON problem document POST /solve takes (what you send: A as rows or `{ shape, data }`). */
export type Problem = z.input<typeof solveBodySchema>;
/** RFC 9457 problem details of an error answer. */
export type ProblemDetails = z.output<typeof problemDetailsSchema>;

/** One `.npy` file's bytes (little-endian float64, C order), e.g. from `np.save` or a file input. */
export type NpyBytes = Blob | Uint8Array | ArrayBuffer;

/**
 * One array of a binary upload: `.npy` bytes as they are, or numbers the client encodes (a vector as an
 * array or a Float64Array, a matrix as rows or `{ data, shape: [n, d] }` in C order).
 */
export type NpyValue =
  | NpyBytes
  | Float64Array
  | readonly number[]
  | readonly (readonly number[])[]
  | { data: Float64Array; shape: readonly number[] };

/**
 * A problem as a binary upload: the arrays as `.npy` parts and the rest (method, options) as JSON. For large
 * problems: 8 bytes a number instead of ~20 in JSON, and no JSON parse of the numbers on the server.
 */
export interface NpyProblem {
  npy: { [K in NpyPart]?: NpyValue } & { A: NpyValue; b: NpyValue; sigma: NpyValue };
  /** the rest of the problem (method, options, ...); the arrays go only as .npy parts */
  json?: Omit<Problem, NpyPart | 'A' | 'b' | 'sigma'>;
}

export type Progress = NonNullable<Job['progress']>;

/** One event of GET /jobs/{id}/events. `done` carries the finished job; the stream ends after it. */
export type JobEvent =
  | { id: string | undefined; type: 'state'; data: { state: JobState } & Record<string, unknown> }
  | { id: string | undefined; type: 'progress'; data: Progress }
  | { id: string | undefined; type: 'done'; data: Job };
