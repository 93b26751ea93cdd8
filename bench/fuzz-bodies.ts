/**
 * Hostile requests for the API, as fast-check arbitraries: POST /solve bodies (malformed JSON, wrong types,
 * deep nesting, numbers past float range, `__proto__` / `constructor` keys, mismatched lengths, every field at
 * and past its limit, wrong content types and encodings, a zip bomb) and bad ids, offsets, limits, cursors and
 * Last-Event-IDs for every other route. Used by test/api/fuzz.test.ts and the fault benchmark; every request
 * is one the API must answer with a 2xx or a 4xx problem+json, never a 5xx.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';

export interface FuzzRequest {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  /** path and query, already percent-encoded where meant to be */
  url: string;
  headers: Record<string, string>;
  /** bytes, so that no client adds a content type of its own */
  body?: Uint8Array;
  /** what the request tries, for failure messages */
  label: string;
}

/** The server's limits the field boundaries are drawn around (defaults: the service's defaults). */
export interface FuzzLimits {
  maxBodyBytes: number;
  maxProblemCells: number;
  maxIterations: number;
  maxSolveSeconds: number;
}

const DEFAULT_LIMITS: FuzzLimits = {
  maxBodyBytes: 64 * 1024 * 1024,
  maxProblemCells: 2_000_000,
  maxIterations: 100_000,
  maxSolveSeconds: 3600,
};

const JSON_TYPE = { 'content-type': 'application/json' };
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

type Doc = Record<string, unknown>;

/** A small well-formed problem (n x d, n >= d); the mutations below start from it. */
const baseProblem: fc.Arbitrary<Doc> = fc
  .record({ d: fc.integer({ min: 1, max: 3 }), extra: fc.integer({ min: 0, max: 5 }), seed: fc.nat() })
  .map(({ d, extra, seed }) => {
    const n = d + extra;
    let s = seed % 2147483647 || 1;
    const rand = (): number => {
      s = (s * 48271) % 2147483647;
      return s / 2147483647;
    };
    const A = Array.from({ length: n }, () => Array.from({ length: d }, () => rand() * 2 - 1));
    return { A, b: A.map(() => rand() - 2), sigma: A.map(() => d / n) };
  });

/** Values of every JSON type, including the awkward ones. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, '', '1', [], {}, [[]], [null], -0, 1e308, -1e308, 5e-324, 2 ** 53 + 2),
);

/** A key of the problem document, or one a client might guess. */
const docKey = fc.constantFrom(
  'A',
  'b',
  'sigma',
  'method',
  'x0',
  'signs',
  'xStar',
  'options',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  'a',
  'optons',
);

function bodyOf(text: string, label: string, headers: Record<string, string> = JSON_TYPE): FuzzRequest {
  return { method: 'POST', url: '/solve', headers, body: utf8(text), label };
}

/** A field replaced by a value of another type (or removed). */
const wrongTypes = fc
  .tuple(baseProblem, docKey, fc.option(anyJson, { nil: undefined }))
  .map(([doc, key, value]) => {
    const out: Doc = { ...doc };
    if (value === undefined) delete out[key];
    // defineProperty: `out.__proto__ = v` would set the prototype instead of writing the key.
    else Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    return bodyOf(JSON.stringify(out), `wrong type at ${key}`);
  });

/** `__proto__`, `constructor` and `prototype` keys at every level the schema has objects. */
const prototypeKeys = fc
  .tuple(baseProblem, fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.nat(3), anyJson)
  .map(([doc, key, where, value]) => {
    const inject = `${JSON.stringify(key)}:${JSON.stringify(value ?? null)}`;
    const json = JSON.stringify(doc);
    const flat = JSON.stringify({ ...doc, A: { shape: [(doc.A as unknown[]).length, 1], data: [] } });
    const texts = [
      `{${inject},${json.slice(1)}`,
      json.replace(/}$/, `,"options":{${inject}}}`),
      flat.replace('{"shape"', `{${inject},"shape"`),
      json.replace(/}$/, `,"options":{"record":{${inject}}}}`),
    ];
    return bodyOf(texts[where], `${key} key at level ${where}`);
  });

/** Arrays (or objects) nested thousands deep, at the top or inside A. */
const deepNesting = fc
  .tuple(fc.constantFrom(100, 1000, 10_000, 50_000), fc.constantFrom('top', 'A', 'object', 'unclosed'))
  .map(([depth, where]) => {
    const arrays = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const text =
      where === 'top'
        ? arrays
        : where === 'A'
          ? `{"A":${arrays},"b":[1],"sigma":[1]}`
          : where === 'object'
            ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
            : '['.repeat(depth);
    return bodyOf(text, `nesting ${depth} deep (${where})`);
  });

/** Numbers JSON can spell but a double cannot hold (1e999 parses to Infinity), in every numeric field. */
const extremeNumbers = fc
  .tuple(
    baseProblem,
    fc.constantFrom('1e999', '-1e999', '1e-999', '-0', '1'.repeat(400), `0.${'0'.repeat(400)}1`, '1E+309'),
    fc.constantFrom('A', 'b', 'sigma', 'x0', 'xStar', 'maxIterations', 'tolerance', 'maxSeconds', 'shape'),
  )
  .map(([doc, number, field]) => {
    const n = (doc.A as unknown[]).length;
    const d = (doc.A as unknown[][])[0].length;
    const json = JSON.stringify(doc);
    const replaceFirst = (key: string): string =>
      json.replace(new RegExp(`"${key}":\\[(\\[)?[^,\\]]+`), `"${key}":[$1${number}`);
    let text: string;
    if (field === 'A' || field === 'b' || field === 'sigma') text = replaceFirst(field);
    else if (field === 'x0' || field === 'xStar') {
      text = json.replace(/}$/, `,"${field}":[${[number, ...Array(d - 1).fill('0')].join(',')}]}`);
    } else if (field === 'shape') {
      text = json.replace(/"A":\[.*?\]\],/, `"A":{"shape":[${number},${d}],"data":[]},`);
    } else text = json.replace(/}$/, `,"options":{"${field}":${number}}}`);
    void n;
    return bodyOf(text, `${number.slice(0, 12)} in ${field}`);
  });

/** Arrays one entry short or long, rows of different lengths, n < d, shape and data disagreeing. */
const mismatchedLengths = fc
  .tuple(baseProblem, fc.constantFrom('b', 'sigma', 'signs', 'x0', 'xStar', 'row', 'n<d', 'shape', 'reg'))
  .chain(([doc, what]) => fc.tuple(fc.constant(doc), fc.constant(what), fc.constantFrom(-1, 1, 5)))
  .map(([doc, what, delta]) => {
    const A = doc.A as number[][];
    const n = A.length;
    const d = A[0].length;
    const len = (k: number): number[] => Array.from({ length: Math.max(0, k) }, () => 1);
    const out: Doc = { ...doc };
    if (what === 'b' || what === 'sigma') out[what] = len(n + delta).map(() => 0.5);
    else if (what === 'signs') out.signs = len(n + delta);
    else if (what === 'x0' || what === 'xStar') out[what] = len(d + delta);
    else if (what === 'row') out.A = A.map((row, i) => (i === n - 1 ? len(d + delta) : row));
    else if (what === 'n<d') out.A = [len(d + 2)];
    else if (what === 'shape') out.A = { shape: [n, d], data: len(n * d + delta) };
    else out.options = { regularization: len(n + delta) };
    return bodyOf(JSON.stringify(out), `${what} length off by ${delta}`);
  });

/** Each option and limit at its boundary and just past it. */
function boundaries(limits: FuzzLimits): fc.Arbitrary<FuzzRequest> {
  const cases: [string, unknown][] = [
    ['maxIterations', 0],
    ['maxIterations', 1],
    ['maxIterations', limits.maxIterations],
    ['maxIterations', limits.maxIterations + 1],
    ['maxIterations', 1e12],
    ['maxIterations', 1.5],
    ['maxSeconds', 0],
    ['maxSeconds', limits.maxSolveSeconds],
    ['maxSeconds', limits.maxSolveSeconds + 1],
    ['maxSeconds', 1e308],
    ['tolerance', -1],
    ['tolerance', 0],
    ['lossChangeTolerance', -5e-324],
    ['stepSize', 0],
    ['stepSize', 1e-320],
    ['regularization', -0.1],
    ['regularization', 1e308],
    ['lineSearch', 'none'],
    ['lineSearch', 'wolfe'],
    ['record', { every: 0 }],
    ['record', { every: 2 ** 31 }],
    ['record', { includeX: 'yes' }],
  ];
  const optionCase = fc
    .tuple(baseProblem, fc.constantFrom(...cases))
    .map(([doc, [key, value]]) =>
      bodyOf(JSON.stringify({ ...doc, options: { [key]: value } }), `options.${key} = ${String(value)}`),
    );
  const fieldCase = fc
    .tuple(
      baseProblem,
      fc.constantFrom<[string, (doc: Doc) => unknown]>(
        ['sigma', (doc) => (doc.sigma as number[]).map((_, i) => (i === 0 ? 1.0000001 : 1))],
        ['sigma', (doc) => (doc.sigma as number[]).map(() => -1e-300)],
        ['sigma', (doc) => (doc.sigma as number[]).map(() => 1)],
        ['signs', (doc) => (doc.sigma as number[]).map(() => 0)],
        ['signs', (doc) => (doc.sigma as number[]).map(() => -1)],
        ['method', () => 'NEWTON'],
        ['method', () => 'gd'],
      ),
    )
    .map(([doc, [key, value]]) =>
      bodyOf(JSON.stringify({ ...doc, [key]: value(doc) }), `${key} at its edge`),
    );
  // n x d at the cell limit and one row past it; only when such a body is small enough to send quickly.
  const cells = fc.constantFrom(0, 1).chain((past) => {
    const d = 2;
    const n = Math.floor(limits.maxProblemCells / d) + past;
    if (n * d * 8 > 4 * 1024 * 1024) return optionCase;
    const data = new Array(n * d).fill(0).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const text = JSON.stringify({
      A: { shape: [n, d], data },
      b: new Array(n).fill(-1),
      sigma: new Array(n).fill(d / n),
    });
    return fc.constant(bodyOf(text, `${n} x ${d} cells (${past ? 'past' : 'at'} the limit)`));
  });
  // Bodies at and past the byte limit (only when that is small enough to send quickly).
  const size = fc.constantFrom(0, 1).chain((past) => {
    if (limits.maxBodyBytes > 4 * 1024 * 1024) return optionCase;
    const text = `{"A":[[1]],"b":[0],"sigma":[1]${' '.repeat(limits.maxBodyBytes - 30 + past)}}`;
    return fc.constant(bodyOf(text, `${text.length} bytes (${past ? 'past' : 'at'} the body limit)`));
  });
  return fc.oneof({ arbitrary: optionCase, weight: 4 }, { arbitrary: fieldCase, weight: 3 }, cells, size);
}

/** Text that is not JSON, or JSON cut short. */
const malformedJson = fc.oneof(
  fc.string({ maxLength: 200 }).map((text) => bodyOf(text, 'random text')),
  baseProblem.chain((doc) => {
    const json = JSON.stringify(doc);
    return fc.nat(json.length - 1).map((cut) => bodyOf(json.slice(0, cut), `JSON cut at ${cut}`));
  }),
  fc
    .constantFrom(
      '',
      ' ',
      'null',
      '0',
      '"A"',
      '[]',
      '{}',
      '{"A":[[1]],"b":[0],"sigma":[1],}',
      "{'A':1}",
      '{"A":NaN}',
      '{"A":Infinity}',
      '{"A":[[0x10]]}',
      '\uFEFF{}',
      '{"A":[[1]],"A":[[2]]}',
    )
    .map((text) => bodyOf(text, `literal ${JSON.stringify(text)}`)),
  fc
    .uint8Array({ minLength: 1, maxLength: 64 })
    .map((bytes) => ({ ...bodyOf('', 'random bytes'), body: Uint8Array.from([0xff, 0xfe, ...bytes]) })),
);

/** A valid problem under the wrong media type, or no media type at all. */
const wrongContentTypes = fc
  .tuple(
    baseProblem,
    fc.constantFrom(
      undefined,
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/octet-stream',
      'application/json; charset=utf-16',
      'APPLICATION/JSON',
      'application/jsonx',
      'application/problem+json',
      '*/*',
      'application',
      ';;;',
    ),
  )
  .map(([doc, type]) =>
    bodyOf(
      JSON.stringify(doc),
      `content-type ${type ?? '(none)'}`,
      type === undefined ? {} : { 'content-type': type },
    ),
  );

let zipBomb: Uint8Array | undefined;
/** A gzip of `bytes` zeros inside a JSON string: ~1000x smaller than what it inflates to. */
function bomb(limits: FuzzLimits): Uint8Array {
  zipBomb ??= gzipSync(
    Buffer.concat([Buffer.from('{"A":"'), Buffer.alloc(limits.maxBodyBytes + 1024, 0x30)]),
    {
      level: 9,
    },
  );
  return zipBomb;
}

/** Content-Encoding: real gzip, deflate and br bodies, bytes that are not what their label says, unknown codings. */
function encodings(limits: FuzzLimits): fc.Arbitrary<FuzzRequest> {
  return fc
    .tuple(
      fc.oneof(
        baseProblem.map((doc) => JSON.stringify(doc)),
        fc.constantFrom('{"A":', 'not json'),
      ),
      fc.constantFrom(
        'gzip',
        'deflate',
        'br',
        'br-plain',
        'gzip-plain',
        'identity',
        'compress',
        'zstd',
        'gzip, gzip',
        'GZIP',
        'bomb',
      ),
    )
    .map(([text, coding]) => {
      const plain = utf8(text);
      const headers = (encoding: string): Record<string, string> => ({
        ...JSON_TYPE,
        'content-encoding': encoding,
      });
      const request = (encoding: string, body: Uint8Array): FuzzRequest => ({
        method: 'POST',
        url: '/solve',
        headers: headers(encoding),
        body,
        label: `content-encoding ${coding}`,
      });
      if (coding === 'gzip') return request('gzip', gzipSync(plain));
      if (coding === 'deflate') return request('deflate', deflateSync(plain));
      if (coding === 'br') return request('br', brotliCompressSync(plain));
      if (coding === 'br-plain') return request('br', plain);
      if (coding === 'gzip-plain') return request('gzip', plain);
      if (coding === 'bomb') return request('gzip', bomb(limits));
      return request(coding, plain);
    });
}

const UUID = '7d1f0c1e-5b7a-4c38-9d59-2f4f1e0a9b11';
/** Job ids a client should never send: empty-ish, over-long, traversal, broken percent-encoding, unicode. */
const badId = fc.oneof(
  fc.constantFrom(
    UUID,
    'x',
    '%00',
    '..%2F..%2Fetc%2Fpasswd',
    '%E0%A4%A',
    '%',
    'a'.repeat(199),
    'a'.repeat(201),
    'a'.repeat(5000),
    '%F0%9F%92%A9',
    '__proto__',
    'constructor',
    '*',
    '%20',
    '{id}',
  ),
  fc.string({ minLength: 1, maxLength: 80 }).map((s) => encodeURIComponent(s)),
);

const badNumber = fc.oneof(
  fc.constantFrom(
    '',
    '-1',
    '0',
    '1',
    '1e999',
    '-1e999',
    'NaN',
    'Infinity',
    '1.5',
    '0x10',
    'abc',
    '9'.repeat(40),
  ),
  fc.integer().map(String),
  fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s)),
);

const badEventId = fc.oneof(
  fc.constantFrom(
    '18446744073709551616-0',
    '0-18446744073709551616',
    '18446744073709551615-18446744073709551615',
    '-1-0',
    '1-2-3',
    '1',
    'abc',
    '0-0',
    '$',
    '>',
    '+',
    '1-',
    ' 1-0',
    '9'.repeat(30),
  ),
  fc.string({ maxLength: 30 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
);

const qs = (pairs: [string, string | undefined][]): string => {
  const parts = pairs.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  return parts.length ? `?${parts.join('&')}` : '';
};

/** Every route other than POST /solve, with bad ids, offsets, limits, cursors, Last-Event-IDs and bodies. */
const req = (r: FuzzRequest): FuzzRequest => r;

const otherRoutes: fc.Arbitrary<FuzzRequest> = fc.oneof(
  badId.map((id) => req({ method: 'GET' as const, url: `/jobs/${id}`, headers: {}, label: 'GET job' })),
  badId.map((id) => req({ method: 'DELETE' as const, url: `/jobs/${id}`, headers: {}, label: 'DELETE job' })),
  fc
    .tuple(badId, fc.option(badNumber, { nil: undefined }), fc.option(badNumber, { nil: undefined }))
    .map(([id, offset, limit]) =>
      req({
        method: 'GET' as const,
        url: `/jobs/${id}/iterates${qs([
          ['offset', offset],
          ['limit', limit],
        ])}`,
        headers: {},
        label: 'iterates',
      }),
    ),
  fc.tuple(badId, badEventId, fc.boolean()).map(([id, eventId, inHeader]) =>
    req({
      method: 'GET' as const,
      url: `/jobs/${id}/events${inHeader ? '' : qs([['lastEventId', encodeURIComponent(eventId)]])}`,
      headers: inHeader ? { 'last-event-id': eventId } : {},
      label: `events, Last-Event-ID ${JSON.stringify(eventId)}`,
    }),
  ),
  fc
    .tuple(badId, fc.option(anyJson, { nil: undefined }), fc.constantFrom(10, 20_000))
    .map(([id, body, pad]) =>
      req({
        method: 'POST' as const,
        url: `/jobs/${id}/cancel`,
        headers: body === undefined ? {} : JSON_TYPE,
        ...(body === undefined
          ? {}
          : { body: utf8(pad > 16_000 ? JSON.stringify({ pad: 'x'.repeat(pad) }) : JSON.stringify(body)) }),
        label: 'cancel',
      }),
    ),
  fc
    .tuple(
      fc.option(fc.constantFrom('queued', 'running', 'done', 'QUEUED', '', 'succeeded'), { nil: undefined }),
      fc.option(badNumber, { nil: undefined }),
      fc.option(
        fc.oneof(
          fc.constantFrom('', 'x', '0', '-1', 'AAAA', '%00', '9'.repeat(300), 'eyJ4IjoxfQ'),
          fc.string({ maxLength: 40 }).map(encodeURIComponent),
        ),
        { nil: undefined },
      ),
    )
    .map(([state, limit, cursor]) =>
      req({
        method: 'GET' as const,
        url: `/jobs${qs([
          ['state', state],
          ['limit', limit],
          ['cursor', cursor],
        ])}`,
        headers: {},
        label: 'list',
      }),
    ),
  fc.constantFrom<FuzzRequest>(
    { method: 'PUT', url: '/solve', headers: {}, label: 'PUT /solve' },
    { method: 'PATCH', url: `/jobs/${UUID}`, headers: {}, label: 'PATCH job' },
    { method: 'GET', url: '/solve', headers: {}, label: 'GET /solve' },
    { method: 'POST', url: '/healthz', headers: JSON_TYPE, body: utf8('{}'), label: 'POST /healthz' },
  ),
);

/** A malformed Idempotency-Key on an otherwise fine submit. */
const badIdempotencyKeys = fc
  .tuple(
    baseProblem,
    fc.constantFrom('', ' ', 'has space', '"', '""', 'k'.repeat(256), 'k'.repeat(255), '"quoted"'),
  )
  .map(([doc, key]) =>
    bodyOf(JSON.stringify(doc), `Idempotency-Key ${JSON.stringify(key)}`, {
      ...JSON_TYPE,
      'idempotency-key': key,
    }),
  );

/** All of the above, weighted towards POST /solve bodies. */
export function fuzzRequestArbitrary(limits: Partial<FuzzLimits> = {}): fc.Arbitrary<FuzzRequest> {
  const l = { ...DEFAULT_LIMITS, ...limits };
  return fc.oneof(
    { arbitrary: malformedJson, weight: 3 },
    { arbitrary: wrongTypes, weight: 3 },
    { arbitrary: deepNesting, weight: 1 },
    { arbitrary: extremeNumbers, weight: 2 },
    { arbitrary: prototypeKeys, weight: 2 },
    { arbitrary: mismatchedLengths, weight: 2 },
    { arbitrary: boundaries(l), weight: 3 },
    { arbitrary: wrongContentTypes, weight: 2 },
    { arbitrary: encodings(l), weight: 2 },
    { arbitrary: badIdempotencyKeys, weight: 1 },
    { arbitrary: otherRoutes, weight: 5 },
  );
}

/** `count` requests, the same ones for the same seed. */
export function* fuzzRequests(
  count: number,
  seed: number,
  limits: Partial<FuzzLimits> = {},
): Generator<FuzzRequest> {
  yield* fc.sample(fuzzRequestArbitrary(limits), { numRuns: count, seed });
}
