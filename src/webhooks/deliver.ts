/**
 * One delivery attempt: a POST of the signed body with node:http(s), no connection reuse (every attempt
 * resolves and checks its address again: address-guard.ts), a deadline for the whole exchange, no
 * redirects followed, and at most a few KB of the answer read. The outcome says whether to try again.
 * Its `error` is shown to the client (GET /jobs/{id}/deliveries), so it never carries an address the
 * worker resolved or connected to; `detail` has those, for the operator's log.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type AddressGuard, RefusedAddressError } from './address-guard.js';

export interface DeliveryOutcome {
  ok: boolean;
  /** worth another attempt: a network error, a timeout, 429 or 5xx */
  retry: boolean;
  statusCode?: number;
  /** for the client: a status, a timeout, a refusal or a network error's code, never an address */
  error?: string;
  /** for the operator's log: the error as Node reported it, or what a refused name resolved to */
  detail?: string;
  /** 0 for a refusal: nothing was sent, and a refusal must not be timed apart from an unknown name */
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
  const allowed = guard.allowsUrl(url);
  try {
    guard.checkLiteral(target.hostname, allowed);
  } catch (error) {
    return refusal(error as RefusedAddressError);
  }
  const payload = Buffer.from(body);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<DeliveryOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<DeliveryOutcome, 'durationMs'> | DeliveryOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      req.destroy();
      resolve({ durationMs: took(), ...outcome });
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
      ...(allowed ? {} : { lookup: guard.lookup }),
    });
    const deadline = setTimeout(
      () => finish({ ok: false, retry: true, error: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    req.on('error', (error) => {
      const refused = findRefusal(error);
      finish(refused ? refusal(refused) : { ok: false, retry: true, ...describe(error) });
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

const refusal = (error: RefusedAddressError): DeliveryOutcome => ({
  ok: false,
  retry: false,
  error: error.message,
  detail: error.detail,
  durationMs: 0,
});

/** A network error for the client by its code only: Node's messages name the address connected to. */
const describe = (error: Error): { error: string; detail: string } => {
  const code = (error as NodeJS.ErrnoException).code;
  return {
    error: code ? `network error (${code})` : 'network error',
    detail: error.message.slice(0, 200),
  };
};
