/**
 * `levinv/client` without webhook verification, for pages: a webhook receiver is a server, and a browser
 * bundle of index.ts would carry the standardwebhooks package (CommonJS, which bundlers keep whole) for
 * nothing. The dashboard (web/) imports this; index.ts re-exports all of it.
 */
export {
  type CallOptions,
  type EventsOptions,
  type IteratesOptions,
  LevinvClient,
  type LevinvClientOptions,
  type ListOptions,
  type SolveCallOptions,
  type WaitOptions,
} from './client.js';
export { LevinvError, LevinvNetworkError } from './errors.js';
export { type NpyArray, npyBytes, parseNpy } from './npy.js';
export { EXCLUDED_OPERATIONS, ROUTES, type Route, type RouteName, routePath } from './routes.js';
export { parseEventStream, type SseEvent } from './sse.js';
export type {
  Deliveries,
  Iterate,
  IteratePage,
  Job,
  JobEvent,
  JobPage,
  JobResult,
  JobState,
  NpyBytes,
  NpyProblem,
  NpyValue,
  Problem,
  ProblemDetails,
  Progress,
  ResultVector,
} from './types.js';
