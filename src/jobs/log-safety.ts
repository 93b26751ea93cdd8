/**
 * Keeps secrets out of the job layer's logs. ioredis errors carry the failed command with its arguments
 * (a wrong password: `{name: 'hello', args: ['3', 'AUTH', 'default', '<password>']}`; a SET: a whole problem
 * blob), and BullMQ forwards the same errors from its own connections. Every error the job layer logs
 * goes through safeError: type, message, code, stack and the command's name only, with the Redis URL's
 * credentials and the password itself masked wherever they appear.
 */
import type { Logger } from 'pino';

const MASK = '***';
const URL_CREDENTIALS = /(rediss?(?:\+cluster)?:\/\/)[^@/\s]*@/gi;

/** The URL without its credentials, for logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(URL_CREDENTIALS, `$1${MASK}@`);
}

/** The password (and user) of a Redis URL: strings no log line may contain. */
export function urlSecrets(url: string): string[] {
  try {
    const cluster = /^rediss?\+cluster:\/\/[^:@/]*:([^@/]*)@/i.exec(url);
    const password = cluster ? cluster[1] : new URL(url).password;
    return [password, decodeURIComponent(password)].filter((s) => s.length >= 3);
  } catch {
    return [];
  }
}

function mask(text: string, secrets: readonly string[]): string {
  let out = redactRedisUrl(text);
  for (const secret of secrets) out = out.split(secret).join(MASK);
  return out;
}

/** A loggable copy of `error` that holds no command arguments and none of `secrets`. */
export function safeError(error: unknown, secrets: readonly string[], depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: mask(String(error), secrets) };
  const out: Record<string, unknown> = {
    type: error.name,
    message: mask(error.message, secrets),
  };
  if (error.stack) out.stack = mask(error.stack, secrets);
  const { code, command } = error as { code?: unknown; command?: { name?: unknown } };
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  if (command && typeof command.name === 'string') out.command = command.name;
  if (error.cause !== undefined && depth < 3) out.cause = safeError(error.cause, secrets, depth + 1);
  return out;
}

/** A child of `logger` whose `err` fields go through safeError. */
export function safeLogger(logger: Logger, redisUrl: string): Logger {
  const secrets = urlSecrets(redisUrl);
  return logger.child({}, { serializers: { err: (error: unknown) => safeError(error, secrets) } });
}
