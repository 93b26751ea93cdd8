/**
 * The `webhook` field of a POST /solve body: where to POST the job, and on which events. Only the syntax is
 * checked here (scheme, length); whether the address may be reached is decided at delivery time, after DNS
 * (src/webhooks/address-guard.ts), since a name can resolve elsewhere by then.
 */
import { z } from 'zod';

export const WEBHOOK_EVENTS = ['start', 'progress', 'completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** An absolute http: or https: URL with a host. */
export function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

export const webhookSchema = z
  .strictObject({
    url: z
      .string()
      .max(MAX_WEBHOOK_URL_LENGTH, {
        error: `expected a URL of at most ${MAX_WEBHOOK_URL_LENGTH} characters`,
      })
      .refine(isHttpUrl, { error: 'expected an absolute http: or https: URL' })
      .meta({
        description:
          'where the job is POSTed. Loopback, private, link-local, CGNAT and multicast addresses are ' +
          'refused at delivery time (after DNS), unless the host is in WEBHOOK_ALLOW_HOSTS',
        format: 'uri',
      }),
    events: z
      .array(z.enum(WEBHOOK_EVENTS))
      .min(1, { error: 'expected at least one event' })
      .max(WEBHOOK_EVENTS.length * 2, { error: `expected at most ${WEBHOOK_EVENTS.length * 2} events` })
      .optional()
      .meta({
        description:
          'when to POST: `start` (the job first runs), `progress` (at most once a second per job), ' +
          '`completed` (every final state: succeeded, failed, cancelled); default ["completed"]',
      }),
  })
  .meta({
    id: 'Webhook',
    description:
      'POST the job (the JSON of GET /jobs/{id}) to `url`, signed per Standard Webhooks ' +
      '(`webhook-id`, `webhook-timestamp`, `webhook-signature`) with WEBHOOK_SECRET',
  });

export type WebhookInput = z.output<typeof webhookSchema>;
