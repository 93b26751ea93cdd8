/**
 * The contract keeps its own lists of the solver's names (src/contract imports nothing from the rest of
 * src/, and the solver nothing of zod or the API): these must stay equal, in the types and at run time.
 */
import { describe, expect, it } from 'vitest';
import * as contract from '../../src/contract/enums.js';
import { JOB_STATES as STORE_STATES } from '../../src/jobs/job-record.js';
import {
  LINE_SEARCHES,
  type LineSearch,
  METHODS,
  type Method,
  START_CHOICES,
  type StartChoice,
  type StartMethod,
  type StopReason,
} from '../../src/solver/index.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameTypes: [
  Same<(typeof contract.METHODS)[number], Method>,
  Same<(typeof contract.LINE_SEARCHES)[number], LineSearch>,
  Same<(typeof contract.START_CHOICES)[number], StartChoice>,
  Same<(typeof contract.START_METHODS)[number], StartMethod>,
  Same<(typeof contract.STOP_REASONS)[number], StopReason>,
] = [true, true, true, true, true];

describe("the contract's lists", () => {
  it("are the solver's (the types above fail to compile otherwise)", () => {
    expect(sameTypes).toEqual([true, true, true, true, true]);
    expect([...contract.METHODS]).toEqual([...METHODS]);
    expect([...contract.LINE_SEARCHES]).toEqual([...LINE_SEARCHES]);
    expect([...contract.START_CHOICES]).toEqual([...START_CHOICES]);
  });

  it("are the job store's states", () => {
    expect(STORE_STATES).toBe(contract.JOB_STATES);
  });
});
