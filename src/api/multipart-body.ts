/**
 * Reads a multipart/form-data POST /solve (@fastify/multipart) into a SolveSubmission: the .npy parts'
 * chunks as they arrive (never joined on the event loop), within the route's body limit counted over all
 * parts, then parsed and validated by npy-body.ts inline (small) or on the parse pool (large).
 */
import type {} from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { NPY_PARTS, type NpyPart } from '../contract/npy.js';
import { type SolveSubmission, toSubmission } from './body-parser.js';
import { prepareNpyBody } from './npy-body.js';
import type { ParsePool } from './parse-pool.js';
import { HttpProblem } from './problems.js';
import { whileArriving } from './upload-gate.js';

const isNpyPart = (name: string): name is NpyPart => (NPY_PARTS as readonly string[]).includes(name);
const PART_NAMES = `${NPY_PARTS.join(', ')} (.npy files) and json`;
/** The json part is small: method and options (per-row arrays come as .npy parts). */
const MAX_JSON_BYTES = 64 * 1024;
const JSON_TOO_LARGE = `the json part exceeds ${MAX_JSON_BYTES} bytes`;

/**
 * An onRequest hook: a multipart body with a Content-Encoding is a 415 before a byte of it is read.
 * @fastify/multipart reads the raw request, so @fastify/compress's inflater never applies to it (the
 * compressed bytes reached the multipart parser as they were, and a body the inflater was left to hold
 * hung the request). Refused rather than inflated: .npy parts of float64 data shrink little when
 * compressed, and a JSON body can be compressed instead.
 */
export async function refuseEncodedMultipart(request: FastifyRequest): Promise<void> {
  const encoding = request.headers['content-encoding'];
  if (encoding === undefined || encoding === 'identity') return;
  if (!/^\s*multipart\//i.test(request.headers['content-type'] ?? '')) return;
  throw new HttpProblem(
    415,
    `a multipart/form-data body cannot have Content-Encoding '${encoding.slice(0, 40)}': send it ` +
      'uncompressed (float64 .npy data hardly compresses), or compress a JSON body instead',
  );
}

export async function readMultipartSolve(
  request: FastifyRequest,
  pool: () => ParsePool,
  inlineBytes: number,
): Promise<SolveSubmission> {
  let read: Awaited<ReturnType<typeof readParts>>;
  try {
    read = await whileArriving(request, readParts(request));
  } catch (error) {
    // The multipart parser's own errors ("Boundary not found", "Unexpected end of multipart data") carry no
    // status: they are the client's malformed body. Its limit errors carry theirs (413).
    const status = (error as { statusCode?: unknown }).statusCode;
    if (error instanceof HttpProblem) throw error;
    // A json part sent with Content-Type application/json that is not JSON, or that busboy cut at
    // MAX_JSON_BYTES: the plugin parses it and gives no way to tell which (its error is a 406).
    if ((error as { code?: unknown }).code === 'FST_INVALID_JSON_FIELD_ERROR') {
      throw new HttpProblem(
        400,
        `the json part is not valid JSON, or exceeds ${MAX_JSON_BYTES} bytes (it is cut there)`,
      );
    }
    if (typeof status === 'number' && status >= 400 && status < 500) throw error;
    const message = String((error as Error).message).slice(0, 200);
    throw new HttpProblem(400, `the multipart body is malformed: ${message}`);
  }
  const { files, json, total } = read;
  const withFingerprint = request.headers['idempotency-key'] !== undefined;
  const outcome =
    total <= inlineBytes
      ? prepareNpyBody(
          Object.fromEntries(Object.entries(files).map(([name, chunks]) => [name, Buffer.concat(chunks)])),
          json,
          withFingerprint,
        )
      : await pool().parse([], withFingerprint, { files, ...(json === undefined ? {} : { json }) });
  return toSubmission(outcome);
}

/** The parts as they arrived: each .npy part's chunks, the json part, and the bytes read. */
async function readParts(
  request: FastifyRequest,
): Promise<{ files: Partial<Record<NpyPart, Buffer[]>>; json: string | undefined; total: number }> {
  const limit = request.routeOptions.bodyLimit ?? Number.POSITIVE_INFINITY;
  const files: Partial<Record<NpyPart, Buffer[]>> = {};
  let json: string | undefined;
  let total = 0;
  const parts = request.parts({
    limits: {
      fileSize: limit,
      files: NPY_PARTS.length + 1,
      fields: 1,
      parts: NPY_PARTS.length + 1,
      fieldSize: MAX_JSON_BYTES,
    },
  });
  for await (const part of parts) {
    const name = part.fieldname;
    if (name !== 'json' && !isNpyPart(name)) {
      throw new HttpProblem(400, `unknown part '${name.slice(0, 100)}': expected ${PART_NAMES}`);
    }
    if ((name === 'json' && json !== undefined) || (name !== 'json' && files[name] !== undefined)) {
      throw new HttpProblem(400, `the part '${name}' appears twice`);
    }
    if (part.type === 'field') {
      if (name !== 'json')
        throw new HttpProblem(400, `${name}: expected an .npy file part, got a text field`);
      // busboy cuts a field at fieldSize and says so (never the field name: multipart names are not cut)
      if (part.valueTruncated) throw new HttpProblem(413, JSON_TOO_LARGE);
      // with Content-Type application/json the plugin has parsed it already
      json = typeof part.value === 'string' ? part.value : JSON.stringify(part.value);
      continue;
    }
    const chunks: Buffer[] = [];
    let partBytes = 0;
    for await (const chunk of part.file as AsyncIterable<Buffer>) {
      total += chunk.length;
      partBytes += chunk.length;
      if (total > limit) throw new HttpProblem(413, `the parts exceed the body limit of ${limit} bytes`);
      if (name === 'json' && partBytes > MAX_JSON_BYTES) throw new HttpProblem(413, JSON_TOO_LARGE);
      chunks.push(chunk);
    }
    if (name === 'json') {
      json = Buffer.concat(chunks).toString('utf8');
    } else {
      files[name] = chunks;
    }
  }
  return { files, json, total };
}
