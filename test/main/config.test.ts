import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/main/config.js';

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    expect(loadConfig({})).toEqual({
      PORT: 3000,
      HOST: '0.0.0.0',
      WORKER_CONCURRENCY: 1,
      JOB_TTL_SECONDS: 86400,
      MAX_BODY_BYTES: 64 * 1024 * 1024,
      LOG_LEVEL: 'info',
      KEY_PREFIX: 'levinv',
    });
  });

  it('reads and converts the variables, treating empty ones as unset', () => {
    const config = loadConfig({
      PORT: '8080',
      REDIS_URL: 'redis://cache:6380/2',
      WORKER_CONCURRENCY: '4',
      LOG_LEVEL: 'debug',
      KEY_PREFIX: '',
      UNRELATED: 'x',
    });
    expect(config).toMatchObject({ PORT: 8080, REDIS_URL: 'redis://cache:6380/2', WORKER_CONCURRENCY: 4 });
    expect(config.KEY_PREFIX).toBe('levinv');
    expect(config).not.toHaveProperty('UNRELATED');
  });

  it.each([
    ['PORT', '70000', 'expected a port number (0 to 65535)'],
    ['WORKER_CONCURRENCY', '0', 'expected a whole number > 0'],
    ['JOB_TTL_SECONDS', '1.5', 'expected a whole number > 0'],
    ['MAX_BODY_BYTES', 'lots', 'expected a whole number > 0'],
    ['REDIS_URL', 'http://127.0.0.1:6379', ''],
    ['LOG_LEVEL', 'loud', ''],
    ['KEY_PREFIX', 'a b', 'letters, digits, ":", "_" and "-" only'],
  ])('a bad %s stops start-up with a message naming it', (name, value, detail) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(
      `invalid environment variable ${name}=${JSON.stringify(value)}: ${detail}`,
    );
  });
});
