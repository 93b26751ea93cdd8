/** WEBHOOK_* variables: checked at start-up (a bad one names the variable, the secret without its value). */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/main/config.js';
import {
  limitsFromConfig,
  webhookOptionsFromConfig,
  workerOptionsFromConfig,
} from '../../src/main/service-options.js';

const secret = (bytes: number) => `whsec_${randomBytes(bytes).toString('base64')}`;

describe('webhook configuration', () => {
  it('is off by default: no secret, nothing delivered, webhooks refused', () => {
    const config = loadConfig({});
    expect(config.WEBHOOK_SECRET).toBeUndefined();
    expect(webhookOptionsFromConfig(config)).toBeUndefined();
    expect(workerOptionsFromConfig(config)).not.toHaveProperty('webhooks');
    expect(limitsFromConfig(config).webhooksEnabled).toBeUndefined();
  });

  it('reads the secret, the allowed hosts, the timeout, the backoff and the concurrency', () => {
    const key = secret(32);
    const config = loadConfig({
      WEBHOOK_SECRET: key,
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1, hooks.internal ,[::1]',
      WEBHOOK_TIMEOUT_MS: '2500',
      WEBHOOK_BACKOFF_MS: '100',
      WEBHOOK_CONCURRENCY: '16',
      WEBHOOK_CONCURRENCY_PER_KEY: '3',
    });
    expect(webhookOptionsFromConfig(config)).toEqual({
      secret: key,
      allowHosts: ['127.0.0.1', 'hooks.internal', '[::1]'],
      timeoutMs: 2500,
      backoffMs: 100,
      concurrency: 16,
      perKeyConcurrency: 3,
    });
    // the entry points wire one webhook listener into the workers (it delivers: WEBHOOK_SECRET is set)
    expect(workerOptionsFromConfig(config).listeners).toHaveLength(1);
    expect(limitsFromConfig(config).webhooksEnabled).toBe(true);
  });

  it.each([
    ['no prefix', randomBytes(32).toString('base64')],
    ['too short', secret(8)],
    ['too long', secret(100)],
    ['not base64', 'whsec_not base64!'],
  ])('a bad WEBHOOK_SECRET (%s) stops start-up, named without its value', (_, value) => {
    expect(() => loadConfig({ WEBHOOK_SECRET: value })).toThrow(ConfigError);
    expect(() => loadConfig({ WEBHOOK_SECRET: value })).toThrow(
      'invalid environment variable WEBHOOK_SECRET: expected whsec_ followed by the base64 of 24 to 64 bytes',
    );
  });

  it.each([
    [
      'WEBHOOK_ALLOW_HOSTS',
      'http://127.0.0.1',
      'expected comma-separated host names or IP addresses (no scheme, no port)',
    ],
    [
      'WEBHOOK_ALLOW_HOSTS',
      'a,,b',
      'expected comma-separated host names or IP addresses (no scheme, no port)',
    ],
    ['WEBHOOK_TIMEOUT_MS', '0', 'expected a whole number > 0'],
    ['WEBHOOK_BACKOFF_MS', 'soon', 'expected a whole number > 0'],
    ['WEBHOOK_CONCURRENCY', '0', 'expected a whole number > 0'],
    ['WEBHOOK_CONCURRENCY_PER_KEY', '1.5', 'expected a whole number > 0'],
  ])('a bad %s=%s stops start-up', (name, value, detail) => {
    expect(() => loadConfig({ [name]: value })).toThrow(
      `invalid environment variable ${name}=${JSON.stringify(value)}: ${detail}`,
    );
  });
});
