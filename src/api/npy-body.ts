/**
 * A binary POST /solve (multipart/form-data): the arrays as NumPy .npy parts (A n x d; b, sigma, and
 * optionally x0, signs, regularization, xStar of length n or d) and a `json` part with the rest (method,
 * options). The parts become the same problem document a JSON body is, with Float64Arrays where the JSON
 * has arrays, so one schema checks both with the same messages and pointers. Pure and synchronous: it runs
 * inline for small uploads and on a parse thread for large ones, like solve-body.ts.
 */
import { NPY_PARTS, NpyError, type NpyPart, parseNpy } from '../contract/npy.js';
import { prepareSolveDoc, type SolveBodyOutcome } from './solve-body.js';

const fail = (name: string, message: string): SolveBodyOutcome => ({
  ok: false,
  detail: `${name}: ${message}`,
  issues: [{ path: name, pointer: `/${name}`, message }],
});

export function prepareNpyBody(
  files: Partial<Record<NpyPart, Uint8Array>>,
  json: string | undefined,
  withFingerprint: boolean,
  withBlob = false,
): SolveBodyOutcome {
  let doc: Record<string, unknown> = {};
  if (json !== undefined) {
    let rest: unknown;
    try {
      rest = JSON.parse(json);
    } catch (error) {
      return fail('json', `not valid JSON: ${(error as Error).message}`);
    }
    if (typeof rest !== 'object' || rest === null || Array.isArray(rest)) {
      return fail('json', 'expected a JSON object with the rest of the problem (method, options)');
    }
    doc = { ...rest };
    for (const name of NPY_PARTS) {
      if (name in doc) return fail(name, `send ${name} as an .npy part, not in the json part`);
    }
  }
  for (const name of NPY_PARTS) {
    const bytes = files[name];
    if (bytes === undefined) continue;
    let array: ReturnType<typeof parseNpy>;
    try {
      array = parseNpy(bytes, name);
    } catch (error) {
      if (error instanceof NpyError) return fail(name, error.message.slice(name.length + 2));
      throw error;
    }
    const { shape, data } = array;
    if (name === 'A') {
      if (shape.length !== 2)
        return fail(name, `expected a 2-d array (n x d), got shape (${shape.join(', ')})`);
      doc.A = { shape, data };
    } else if (shape.length !== 1) {
      return fail(name, `expected a 1-d array, got shape (${shape.join(', ')})`);
    } else if (name === 'regularization') {
      const options = (doc.options ?? {}) as Record<string, unknown>;
      if (typeof options !== 'object' || options === null || 'regularization' in options) {
        return fail(name, 'give the regularization once: as this part or as options.regularization');
      }
      doc.options = { ...options, regularization: data };
    } else {
      doc[name] = data;
    }
  }
  return prepareSolveDoc(doc, withFingerprint, withBlob);
}
