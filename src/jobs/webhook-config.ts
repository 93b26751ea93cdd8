/**
 * A job's webhook as the job store keeps it (the state hash's `webhook` field). The `webhook` field of a POST /solve body (its syntax: scheme,
 * length, events) is the API's, in src/contract/webhook.ts; whether the address may be reached is decided
 * at delivery time, after DNS (address-guard.ts), since a name can resolve elsewhere by then.
 */
import type { WebhookEvent, WebhookInput } from '../contract/webhook.js';

export { WEBHOOK_EVENTS, type WebhookEvent } from '../contract/webhook.js';

/** A job's webhook as stored with it (never with the secret). */
export interface WebhookConfig {
  url: string;
  events: WebhookEvent[];
}

export function toWebhookConfig(input: WebhookInput): WebhookConfig {
  return { url: input.url, events: [...new Set(input.events ?? ['completed'])] as WebhookEvent[] };
}

/** A stored config back (the state hash's `webhook` field); undefined for none or a damaged one. */
export function parseWebhookConfig(raw: string | undefined): WebhookConfig | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as WebhookConfig;
    return typeof value.url === 'string' && Array.isArray(value.events) ? value : undefined;
  } catch {
    return undefined;
  }
}
