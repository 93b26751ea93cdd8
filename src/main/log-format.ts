/**
 * How the entry points' logs look: JSON lines (one object a line, for log shippers) unless a person is
 * watching, i.e. stdout is a terminal, then readable coloured lines through pino-pretty. LOG_FORMAT
 * overrides the guess either way.
 */
import type { DestinationStream } from 'pino';
import pinoPretty from 'pino-pretty';
import type { LOG_FORMATS } from './config.js';

export type LogFormat = (typeof LOG_FORMATS)[number];

/** LOG_FORMAT when set; otherwise pretty on a terminal and JSON anywhere else (files, pipes, containers). */
export function chooseLogFormat(setting: LogFormat | undefined, isTTY: boolean | undefined): LogFormat {
  return setting ?? (isTTY ? 'pretty' : 'json');
}

/**
 * Where pino writes for `format`: undefined for JSON (pino's own fast stdout destination, or `out`), a
 * pino-pretty stream otherwise. The pretty stream formats on this thread: meant for a person at a
 * terminal, not for volume.
 */
export function logDestination(format: LogFormat, out?: DestinationStream): DestinationStream | undefined {
  if (format === 'json') return out;
  return pinoPretty({
    colorize: out === undefined && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
    ...(out ? { destination: out } : {}),
  });
}
