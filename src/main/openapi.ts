/**
 * `npm run openapi`: writes the OpenAPI document generated from the route schemas to the path given
 * (openapi.yaml at the repository root), or to stdout without one. test/api/openapi.test.ts checks that the
 * committed file is current.
 */
import { writeFile } from 'node:fs/promises';
import { openapiYaml } from '../api/openapi.js';

const target = process.argv[2];
const yaml = await openapiYaml();
if (target === undefined || target === '-') {
  process.stdout.write(yaml);
} else {
  await writeFile(target, yaml, 'utf8');
  process.stderr.write(`wrote ${target}\n`);
}
