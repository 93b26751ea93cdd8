/** `levinv/client`: a typed client of the levinv HTTP API, and webhook verification for receivers. */
export * from './browser.js';
export { LevinvWebhookError, verifyWebhook, type WebhookHeaders } from './webhook.js';
