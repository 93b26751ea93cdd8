/** The messages between the parse pool (parse-pool.ts, on the API thread) and its threads (parse-thread.ts). */
import type { NpyPart } from '../contract/npy.js';
import type { SolveBodyOutcome } from './solve-body.js';

/** One body to parse. */
export interface ParseTask {
  id: number;
  /** the body as it arrived, joined here rather than on the API's event loop (a 44 MB copy takes ~0.1 s) */
  chunks: Uint8Array[];
  /** a binary upload instead (npy-body.ts): each .npy part's chunks, and the json part */
  npy?: { files: Partial<Record<NpyPart, Uint8Array[]>>; json?: string };
  withFingerprint: boolean;
}

/** The parse thread's answer: the outcome, or an exception it threw (a bug, not bad input). */
export type ParseReply =
  | { id: number; outcome: SolveBodyOutcome }
  | { id: number; failed: string }
  /** sent once, when the thread is ready for tasks */
  | { ready: true };
