/**
 * The API's public contract: what goes over the wire, as zod schemas (and the few plain lists and checks
 * they are made of). It imports nothing from the rest of src/, so the server (src/api, src/jobs,
 * src/webhooks) and the typed client (src/client) can both build on it without depending on each other.
 *
 * - enums.ts: job states, methods, line searches, start choices and methods, stop reasons (no zod)
 * - job.ts: a job as GET /jobs/{id} returns it, its pages, iterates, deliveries, result vector names
 * - problem.ts, webhook.ts, solve.ts: the POST /solve body (the problem document and its webhook)
 * - problem-details.ts: the body of every error answer
 * - events.ts: the event stream's event types and ids (no zod)
 * - npy.ts: the `.npy` format and the part names of a binary upload (no zod, no Node APIs)
 * - describe.ts: words for validation messages (no zod)
 *
 * Not re-exported here, so that importing the contract does not load fast-json-stringify: serializer.ts
 * and job-json.ts (a job as JSON, byte for byte what GET /jobs/{id} answers).
 */
export * from './enums.js';
export * from './events.js';
export * from './job.js';
export * from './npy.js';
export * from './problem.js';
export * from './problem-details.js';
export * from './solve.js';
export * from './webhook.js';
