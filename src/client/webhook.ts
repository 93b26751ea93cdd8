/**
 * Verifying a levinv webhook on the receiving side: Standard Webhooks signatures (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 of `id.timestamp.body`), checked with the
 * `standardwebhooks` package, which also refuses timestamps more than 5 minutes off (replays).
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { Job } from './types.js';

/** The signature, timestamp or headers of a webhook delivery do not check out: answer it 400 or 401. */
export class LevinvWebhookError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LevinvWebhookError';
  }
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

const HEADER_NAMES = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

/** The three signature headers, from a Headers instance or a plain object (Node's IncomingHttpHeaders). */
function signatureHeaders(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof Headers !== 'undefined' && headers instanceof Headers) {
    for (const name of HEADER_NAMES) {
      const value = headers.get(name);
      if (value !== null) out[name] = value;
    }
    return out;
  }
  for (const [name, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    const lower = name.toLowerCase();
    if (!(HEADER_NAMES as readonly string[]).includes(lower) || value === undefined) continue;
    out[lower] = Array.isArray(value) ? value.join(' ') : value;
  }
  return out;
}

/**
 * Checks a webhook delivery and returns the job it carries. `body` is the raw request body, exactly as
 * received (parse it only after verifying: re-serialized JSON would not match the signature). `secret` is the
 * webhook's secret: a `whsec_`-prefixed base64 string as Standard Webhooks writes it, or the raw key bytes.
 * A payload in the Standard Webhooks envelope (`{ type, timestamp, data }`) yields its `data`.
 * Throws LevinvWebhookError when the headers, the signature or the timestamp do not check out.
 */
export function verifyWebhook(
  headers: WebhookHeaders,
  body: string | Uint8Array,
  secret: string | Uint8Array,
): Job {
  let payload: unknown;
  try {
    const webhook = typeof secret === 'string' ? new Webhook(secret) : new Webhook(secret, { format: 'raw' });
    const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
    payload = webhook.verify(text, signatureHeaders(headers));
  } catch (error) {
    if (error instanceof WebhookVerificationError) {
      throw new LevinvWebhookError(`webhook verification failed: ${error.message}`, { cause: error });
    }
    if (error instanceof SyntaxError) {
      throw new LevinvWebhookError('webhook body is not JSON', { cause: error });
    }
    throw new LevinvWebhookError(`webhook verification failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const envelope = payload as { type?: unknown; data?: unknown } | null;
  if (typeof envelope?.type === 'string' && typeof envelope.data === 'object' && envelope.data !== null) {
    return envelope.data as Job;
  }
  return payload as Job;
}
