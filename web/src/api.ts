/**
 * A small fetch client for the levinv API, same origin: the API key (kept in sessionStorage, so it dies
 * with the tab) goes out as `Authorization: Bearer`, and any non-2xx answer becomes an ApiError holding
 * the RFC 9457 problem the service sent.
 */

const KEY_STORAGE = 'levinv.apiKey';

export function apiKey(): string {
  return sessionStorage.getItem(KEY_STORAGE) ?? '';
}

export function setApiKey(key: string): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export function authHeaders(): Record<string, string> {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

export interface ProblemDetails {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { pointer: string; detail: string }[];
  requestId?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: ProblemDetails;

  constructor(status: number, problem: ProblemDetails) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

/** The problem in a failed answer; a body that is not one (a proxy's HTML page) still gives a title. */
async function readProblem(res: Response): Promise<ProblemDetails> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as ProblemDetails;
    if (body && typeof body === 'object') return body;
  } catch {
    // not JSON: fall through
  }
  return { title: res.statusText || `HTTP ${res.status}`, status: res.status, detail: text.slice(0, 200) };
}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers ?? {}) } });
  } catch (error) {
    throw new ApiError(0, {
      title: 'Network error',
      detail: `the service did not answer (${(error as Error).message})`,
    });
  }
  if (!res.ok) throw new ApiError(res.status, await readProblem(res));
  return res;
}

export async function getJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await request(path, {
    ...init,
    headers: { accept: 'application/json', ...(init.headers ?? {}) },
  });
  return (await res.json()) as T;
}

// The API's shapes, as much of them as the page reads.
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Progress {
  iteration: number;
  loss: number;
  gradNorm: number;
}

export interface JobResult {
  x: number[];
  loss: number;
  gradNorm: number;
  iterations: number;
  converged: boolean;
  reason: string;
  leverage: number[];
  maxAbsResidual: number;
  relError?: number;
  /** how the start was found (x0, global, global-signs, centre); absent in results stored before it */
  startMethod?: string;
  /** how many slacks are negative at x (the cell itself is signs.npy) */
  negativeSlacks?: number;
  /** why other points may have the same scores */
  ambiguity?: string;
  warnings?: string[];
  timings?: { totalMs?: number };
}

export interface Job {
  id: string;
  state: JobState;
  done: boolean;
  method: string;
  n: number;
  d: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  progress: Progress | null;
  iterates: { recorded: number; limit: number; truncated: boolean };
  result?: JobResult;
  error?: { code: string; message: string; field?: string };
}

export interface JobPage {
  items: Job[];
  nextCursor: string | null;
}

export interface Iterate extends Progress {
  step: number;
  shift: number;
}

export interface IteratePage {
  items: Iterate[];
  nextOffset: number;
}

export const jobPath = (id: string): string => `/jobs/${encodeURIComponent(id)}`;

export function listJobs(params: { state?: string; cursor?: string; limit: number }): Promise<JobPage> {
  const query = new URLSearchParams({ limit: String(params.limit) });
  if (params.state) query.set('state', params.state);
  if (params.cursor) query.set('cursor', params.cursor);
  return getJson<JobPage>(`/jobs?${query}`);
}

export const getJob = (id: string): Promise<Job> => getJson<Job>(jobPath(id));

export const getIterates = (id: string, offset: number, limit = 1000): Promise<IteratePage> =>
  getJson<IteratePage>(`${jobPath(id)}/iterates?offset=${offset}&limit=${limit}`);

export async function submitJson(body: string): Promise<Job> {
  const res = await request('/solve', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body,
  });
  return (await res.json()) as Job;
}

export async function submitForm(form: FormData): Promise<Job> {
  // no content-type: the browser writes multipart/form-data with its boundary
  const res = await request('/solve', {
    method: 'POST',
    headers: { accept: 'application/json' },
    body: form,
  });
  return (await res.json()) as Job;
}

export const cancelJob = (id: string): Promise<Job> =>
  getJson<Job>(`${jobPath(id)}/cancel`, { method: 'POST' });

export async function deleteJob(id: string): Promise<void> {
  await request(jobPath(id), { method: 'DELETE' });
}
