/**
 * A POST /solve body from bytes to a job's input: UTF-8, JSON, the problem schema (with the CLI's messages
 * and pointers), typed arrays, and the idempotency fingerprint. Pure and synchronous, so the same code runs
 * inline for small bodies and on a parse thread for large ones (parse-thread.ts).
 */

import { solveDocSchema } from '../contract/solve.js';
// the pure encoder only: the jobs index would load bullmq and ioredis into the parse thread
import { encodeProblem } from '../jobs/problem-blob.js';
import { toWebhookConfig, type WebhookConfig } from '../jobs/webhook-config.js';
import type { InputIssue } from '../problem/errors.js';
import { errorMap, inputErrorFromZod } from '../problem/issues.js';
import { type ParsedProblem, toParsedProblem } from '../problem/parse.js';
import { fingerprint } from './fingerprint.js';

export type SolveBodyOutcome =
  /** `blob`: the job store's encoding of the numbers, made here when asked (off the event loop) */
  | { ok: true; parsed: ParsedProblem; fingerprint?: string; blob?: Uint8Array; webhook?: WebhookConfig }
  /** `issues` set: the document failed the schema; otherwise the bytes are not JSON at all */
  | { ok: false; detail: string; issues?: InputIssue[] };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function prepareSolveBody(
  bytes: Uint8Array,
  withFingerprint: boolean,
  withBlob = false,
): SolveBodyOutcome {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, detail: 'the body is not valid UTF-8' };
  }
  let json: unknown;
  try {
    // JSON.parse keeps a `__proto__` key as an own property (no prototype change); the strict schema then
    // refuses it as an unknown key like any other.
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, detail: `the body is not valid JSON: ${(error as Error).message}` };
  }
  return prepareSolveDoc(json, withFingerprint, withBlob);
}

/** A problem document (parsed JSON, or a binary upload's parts as one: npy-body.ts) to a job's input. */
export function prepareSolveDoc(json: unknown, withFingerprint: boolean, withBlob = false): SolveBodyOutcome {
  const result = solveDocSchema.safeParse(json, { error: errorMap });
  if (!result.success) {
    const { issues, message } = inputErrorFromZod(result.error, solveDocSchema);
    return { ok: false, detail: message, issues };
  }
  const { webhook, ...doc } = result.data;
  const parsed = toParsedProblem(doc);
  const outcome: SolveBodyOutcome = { ok: true, parsed };
  if (webhook) outcome.webhook = toWebhookConfig(webhook);
  // the webhook is part of the request: the same Idempotency-Key with another webhook is a conflict
  if (withFingerprint) outcome.fingerprint = fingerprint(parsed, outcome.webhook);
  if (withBlob) outcome.blob = encodeProblem(parsed.problem, parsed.xStar);
  return outcome;
}

/** The buffers of a parsed problem (and its blob), to move them between threads instead of copying. */
export function transferList(parsed: ParsedProblem, blob?: Uint8Array): ArrayBuffer[] {
  const { problem, xStar } = parsed;
  const views = [problem.A, problem.b, problem.sigma, problem.signs, problem.x0, xStar, blob];
  if (problem.regularization instanceof Float64Array) views.push(problem.regularization);
  return [...new Set(views.filter((v) => v !== undefined).map((v) => v.buffer as ArrayBuffer))];
}
