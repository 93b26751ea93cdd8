/**
 * The one place the environment is read: a zod schema over process.env. A bad value stops start-up with a
 * message naming the variable.
 */
import { z } from 'zod';

const port = z.coerce
  .number({ error: 'expected a port number (0 to 65535)' })
  .int({ error: 'expected a port number (0 to 65535)' })
  .min(0, { error: 'expected a port number (0 to 65535)' })
  .max(65535, { error: 'expected a port number (0 to 65535)' });
const positiveInt = z.coerce
  .number({ error: 'expected a whole number > 0' })
  .int({ error: 'expected a whole number > 0' })
  .positive({ error: 'expected a whole number > 0' });

export const configSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** unset: `npm start` looks at the default address and may start a private redis-server */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  WORKER_CONCURRENCY: positiveInt.default(1),
  JOB_TTL_SECONDS: positiveInt.default(24 * 60 * 60),
  /** the default takes a 100000 x 20 problem as JSON (about 45 MB) */
  MAX_BODY_BYTES: positiveInt.default(64 * 1024 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]+$/, 'letters, digits, ":", "_" and "-" only')
    .default('levinv'),
});

export type Config = z.output<typeof configSchema>;
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses the environment (only the variables above; empty strings count as unset). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = configSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  const name = String(first.path[0]);
  throw new ConfigError(
    `invalid environment variable ${name}=${JSON.stringify(input[name])}: ${first.message}`,
  );
}
