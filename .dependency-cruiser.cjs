/**
 * The import rules of src/, checked by `npm run lint:imports` (part of `npm run lint`): no circles, and
 * every folder imports only from the floors below it. From the top:
 *   main      the entry points: read the environment, wire the parts together
 *   api       HTTP (Fastify)
 *   webhooks  delivery of job events to receivers; a listener of the job layer
 *   jobs      the job layer (BullMQ, Redis): queue, state machine, workers
 *   problem   problem documents: parse, validate, generate, .npy
 *   limits    per-job limits and defaults, leases
 *   solver    the numerical core: knows nothing of HTTP or Redis
 *   telemetry tracing
 *   contract  the API's public wire shapes (zod only)
 * and beside them `client` (the typed client package's source), which may import only the contract.
 */
const floors = ['contract', 'telemetry', 'solver', 'limits', 'problem', 'jobs', 'webhooks', 'api', 'main'];

// main also imports the client (the CLI submits through it)
const below = (folder) => [
  ...floors.slice(0, floors.indexOf(folder)),
  ...(folder === 'main' ? ['client'] : []),
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'a circle of imports: one of its files must not import the next',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...floors.map((folder) => ({
      name: `${folder}-imports-only-below`,
      severity: 'error',
      comment: `src/${folder} may import only from itself and ${below(folder).join(', ') || 'no other folder'}`,
      from: { path: `^src/${folder}/` },
      to: { path: '^src/', pathNot: [`^src/${folder}/`, ...below(folder).map((f) => `^src/${f}/`)] },
    })),
    {
      name: 'client-imports-only-contract',
      severity: 'error',
      comment: 'the client ships as its own package: it may import only itself and the contract',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: ['^src/client/', '^src/contract/'] },
    },
    {
      name: 'only-main-imports-client',
      severity: 'error',
      comment: 'the server does not use its own client (the CLI in src/main does)',
      from: { path: '^src/', pathNot: ['^src/main/', '^src/client/'] },
      to: { path: '^src/client/' },
    },
    {
      name: 'no-unknown-folder',
      severity: 'error',
      comment: 'a new folder of src/ gets its floor in .dependency-cruiser.cjs',
      from: { path: '^src/', pathNot: [...floors, 'client'].map((f) => `^src/${f}/`) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.d\\.ts$' },
    tsConfig: { fileName: 'tsconfig.json' },
    // type-only imports count: a circle of types is a circle a reader has to follow too
    tsPreCompilationDeps: true,
    parser: 'swc',
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
