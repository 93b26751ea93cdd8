/** The OpenAPI document as YAML, generated from the app itself (openapi-document.ts holds its static part). */
import type { JobService } from '../jobs/types.js';
import { buildApp } from './app.js';
import type { Limits } from './limits.js';

/** Stands in for the job store when only the document is wanted: building it never calls a route. */
const NO_JOBS = new Proxy({} as JobService, {
  get: (_target, property) => () => {
    throw new Error(`JobService.${String(property)} called while generating the OpenAPI document`);
  },
});

/** The document does not depend on the limits' values; these only let the app be built. */
const DOCUMENT_LIMITS: Limits = {
  ratePerSecond: 0,
  maxActiveJobsPerKey: 0,
  maxProblemCells: 1,
  maxSolveSeconds: 1,
  maxIterations: 1,
  maxSolveMemoryMb: 1,
};

/** The OpenAPI document as YAML, exactly as `GET /docs/yaml` serves it (what openapi.yaml must equal). */
export async function openapiYaml(): Promise<string> {
  const app = buildApp({ jobs: NO_JOBS, maxBodyBytes: 1, limits: DOCUMENT_LIMITS });
  try {
    await app.ready();
    return app.swagger({ yaml: true });
  } finally {
    await app.close();
  }
}
