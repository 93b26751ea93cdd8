/** verifyWebhook: Standard Webhooks signatures made with the standardwebhooks package's own Webhook.sign. */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { LevinvWebhookError, verifyWebhook } from '../../src/client/index.js';

const key = randomBytes(24);
const SECRET = `whsec_${key.toString('base64')}`;
const job = { id: 'job-1', state: 'succeeded', done: true, n: 6, d: 2 };

function signed(body: string, options: { at?: Date; secret?: string; id?: string } = {}) {
  const id = options.id ?? 'msg_1';
  const at = options.at ?? new Date();
  const signature = new Webhook(options.secret ?? SECRET).sign(id, at, body);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}

function failure(run: () => unknown): LevinvWebhookError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LevinvWebhookError);
    return error as LevinvWebhookError;
  }
  throw new Error('expected verifyWebhook to throw');
}

describe('verifyWebhook', () => {
  it('returns the job of a correctly signed delivery: plain headers or Headers, string or bytes', () => {
    const body = JSON.stringify(job);
    const headers = signed(body);
    expect(verifyWebhook(headers, body, SECRET)).toEqual(job);
    expect(verifyWebhook(new Headers(headers), Buffer.from(body), SECRET)).toEqual(job);
    expect(verifyWebhook(headers, new TextEncoder().encode(body), SECRET)).toEqual(job);
    // header names in any case (a plain object from some frameworks), the raw key bytes as the secret
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(upper, body, SECRET)).toEqual(job);
    expect(verifyWebhook(headers, body, new Uint8Array(key))).toEqual(job);
    // several signatures (a secret being rotated): one that matches is enough
    const rotated = { ...headers, 'webhook-signature': `v1,AAAA ${headers['webhook-signature']}` };
    expect(verifyWebhook(rotated, body, SECRET)).toEqual(job);
  });

  it('unwraps the Standard Webhooks envelope { type, timestamp, data }', () => {
    const body = JSON.stringify({ type: 'job.succeeded', timestamp: new Date().toISOString(), data: job });
    expect(verifyWebhook(signed(body), body, SECRET)).toEqual(job);
  });

  it('a tampered body, a wrong secret or a changed id fails', () => {
    const body = JSON.stringify(job);
    const headers = signed(body);
    const tampered = body.replace('succeeded', 'failed');
    expect(failure(() => verifyWebhook(headers, tampered, SECRET)).message).toMatch(/No matching signature/);
    const other = `whsec_${randomBytes(24).toString('base64')}`;
    expect(failure(() => verifyWebhook(headers, body, other)).message).toMatch(/No matching signature/);
    expect(failure(() => verifyWebhook({ ...headers, 'webhook-id': 'msg_2' }, body, SECRET)).message).toMatch(
      /No matching signature/,
    );
  });

  it('an old or future timestamp fails (replays), even with a valid signature for it', () => {
    const body = JSON.stringify(job);
    const old = signed(body, { at: new Date(Date.now() - 10 * 60 * 1000) });
    expect(failure(() => verifyWebhook(old, body, SECRET)).message).toMatch(/too old/);
    const future = signed(body, { at: new Date(Date.now() + 10 * 60 * 1000) });
    expect(failure(() => verifyWebhook(future, body, SECRET)).message).toMatch(/too new/);
    const garbage = { ...signed(body), 'webhook-timestamp': 'yesterday' };
    expect(failure(() => verifyWebhook(garbage, body, SECRET)).message).toMatch(/Invalid Signature Headers/);
  });

  it('missing headers, an unparseable secret or a signed body that is not JSON fail with LevinvWebhookError', () => {
    const body = JSON.stringify(job);
    const { 'webhook-signature': _, ...unsigned } = signed(body);
    expect(failure(() => verifyWebhook(unsigned, body, SECRET)).message).toMatch(/Missing required headers/);
    expect(failure(() => verifyWebhook({}, body, SECRET)).message).toMatch(/Missing required headers/);
    expect(failure(() => verifyWebhook(signed(body), body, '')).message).toMatch(/empty/);
    const text = 'not json';
    expect(failure(() => verifyWebhook(signed(text), text, SECRET)).message).toBe('webhook body is not JSON');
  });
});
