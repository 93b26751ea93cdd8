/**
 * Delivery slots shared fairly between API keys: each key may have at most `perKey` deliveries in flight in
 * this process, so one key's slow or dead receivers can never hold all of a worker's slots while another
 * key's messages wait behind them (counted by KeyedLeases). BullMQ's own per-group limits are a paid
 * feature: the delivery worker defers a message over its key's share back to the delayed set instead.
 */
import type { WebhookJobData } from './delivery-queue.js';
import { hostAsWritten } from './host-as-written.js';

/**
 * Whose share a message counts against: its API key's; on an open service (every job's owner is '') or for
 * a message queued before owners were recorded, its receiver's host, so that a dead receiver still cannot
 * take every slot.
 */
export function shareKeyOf(data: WebhookJobData): string {
  if (data.owner) return `key:${data.owner}`;
  return `host:${hostAsWritten(data.url) ?? data.url}`;
}
