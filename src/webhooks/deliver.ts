/**
 * One delivery attempt: a POST of the signed body with node:http(s), no connection reuse (every attempt
 * resolves and checks its address again: address-guard.ts), a deadline for the whole exchange, no
 * redirects followed, and at most a few KB of the answer read. The outcome says whether to try again.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type AddressGuard, RefusedAddressError } from './address-guard.js';

export interface DeliveryOutcome {
  ok: boolean;
  /** worth another attempt: a network error, a timeout, 429 or 5xx */
  retry: boolean;
  statusCode?: number;
  error?: string;
  durationMs: number;
}

export interface PostOptions {
  guard: AddressGuard;
  timeoutMs: number;
}

/** Bytes of a receiver's answer read at most (then the connection is dropped). */
const MAX_ANSWER_BYTES = 4096;
const USER_AGENT = 'levinv-webhooks/1';

export async function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  { guard, timeoutMs }: PostOptions,
): Promise<DeliveryOutcome> {
  const started = performance.now();
  const took = (): number => Math.round((performance.now() - started) * 10) / 10;
  const target = new URL(url);
  try {
    guard.checkLiteral(target.hostname);
  } catch (error) {
    return { ok: false, retry: false, error: (error as Error).message, durationMs: took() };
  }
  const payload = Buffer.from(body);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<DeliveryOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<DeliveryOutcome, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      req.destroy();
      resolve({ ...outcome, durationMs: took() });
    };
    const req = request(target, {
      method: 'POST',
      agent: false,
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(payload.length),
        'user-agent': USER_AGENT,
      },
      ...(guard.allows(target.hostname) ? {} : { lookup: guard.lookup }),
    });
    const deadline = setTimeout(
      () => finish({ ok: false, retry: true, error: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    req.on('error', (error) => {
      const refused = findRefusal(error);
      finish(
        refused
          ? { ok: false, retry: false, error: refused.message }
          : { ok: false, retry: true, error: describe(error) },
      );
    });
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_ANSWER_BYTES) finish(classify(status));
      });
      res.on('end', () => finish(classify(status)));
      res.on('error', () => finish(classify(status)));
    });
    req.end(payload);
  });
}

function classify(status: number): Omit<DeliveryOutcome, 'durationMs'> {
  if (status >= 200 && status < 300) return { ok: true, retry: false, statusCode: status };
  if (status >= 300 && status < 400) {
    return { ok: false, retry: false, statusCode: status, error: `redirect (${status}) not followed` };
  }
  const retry = status === 429 || status >= 500;
  return { ok: false, retry, statusCode: status, error: `the receiver answered ${status}` };
}

/** The guard's refusal, also when the socket wrapped it (happy eyeballs: an AggregateError). */
function findRefusal(error: unknown): RefusedAddressError | undefined {
  if (error instanceof RefusedAddressError) return error;
  if ((error as { code?: string }).code === 'WEBHOOK_ADDRESS_REFUSED') return error as RefusedAddressError;
  const inner = (error as { errors?: unknown[] }).errors;
  return Array.isArray(inner) ? inner.map(findRefusal).find(Boolean) : undefined;
}

const describe = (error: Error): string => {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error.message.slice(0, 200);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
};
