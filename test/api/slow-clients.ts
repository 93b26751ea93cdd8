/**
 * Clients for upload tests over real sockets: a slow one that dribbles a chunked body one byte at a time,
 * plain HTTP requests from a chosen local address (a second client address on loopback), hand-built
 * multipart bodies, and `uploadLatencyWhileDribbling`, which times a normal upload while slow clients hold
 * their connections (for the fault benchmark; tests assert states, never its numbers).
 */
import { type IncomingHttpHeaders, request } from 'node:http';
import { connect } from 'node:net';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
}

/** One request with Content-Length (or none), from `localAddress` when given (e.g. 127.0.0.2). */
export function send(
  base: string,
  path: string,
  body: Uint8Array | string | undefined,
  headers: Record<string, string> = {},
  localAddress?: string,
): Promise<Answer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: body === undefined ? 'GET' : 'POST', headers, ...(localAddress ? { localAddress } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface Dribbler {
  /** the server's answer (head and body), once complete; or what it sent before closing the connection */
  answer: Promise<string>;
  /** resolves when the connection is closed (by the server, or `stop`) */
  closed: Promise<void>;
  /** stops dribbling and closes the connection */
  stop(): void;
}

/**
 * A client that sends the head of a chunked POST /solve and then one byte of body every `intervalMs`, until
 * the server closes the connection (or `stop`). A multipart/form-data body by default.
 */
export function dribble(
  base: string,
  options: {
    headers?: Record<string, string>;
    intervalMs?: number;
    localAddress?: string;
    /** the bytes sent one at a time (default: the start of a multipart body) */
    body?: Uint8Array;
  } = {},
): Dribbler {
  const url = new URL(base);
  const headers = {
    'content-type': 'multipart/form-data; boundary=slow',
    ...options.headers,
    'transfer-encoding': 'chunked',
  };
  const head =
    `POST /solve HTTP/1.1\r\nHost: ${url.host}\r\n` +
    `${Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('')}\r\n`;
  const socket = connect({
    port: Number(url.port),
    host: url.hostname,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  let timer: NodeJS.Timeout | undefined;
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const answer = new Promise<string>((resolve) => {
    let received = '';
    socket.on('data', (data) => {
      received += data.toString('latin1');
      if (isComplete(received)) resolve(received);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve(received);
    });
  });
  socket.on('connect', () => {
    socket.write(head);
    const body = Buffer.from(
      options.body ?? '--slow\r\nContent-Disposition: form-data; name="A"; filename="A.npy"\r\n\r\n',
    );
    let sent = 0;
    const next = (): void => {
      if (socket.writable && sent < body.length) {
        socket.write(
          Buffer.concat([Buffer.from('1\r\n'), body.subarray(sent, sent + 1), Buffer.from('\r\n')]),
        );
      }
      sent++;
    };
    next();
    timer = setInterval(next, options.intervalMs ?? 100);
  });
  return {
    answer,
    closed,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** A whole HTTP/1.1 answer with Content-Length has arrived. */
function isComplete(received: string): boolean {
  const end = received.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length: (\d+)/i.exec(received.slice(0, end));
  return length !== null && Buffer.byteLength(received.slice(end + 4), 'latin1') >= Number(length[1]);
}

/** The status line, Content-Type and JSON body of a raw HTTP/1.1 answer. */
export function parseRaw(response: string): { status: number; type: string; body: Record<string, unknown> } {
  const [head, ...rest] = response.split('\r\n\r\n');
  const status = Number(head.split(' ')[1]);
  const type = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '';
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(rest.join('\r\n\r\n'));
  } catch {}
  return { status, type, body };
}

export interface Part {
  name: string;
  /** present: a file part */
  filename?: string;
  /** the part's Content-Type */
  type?: string;
  data: Uint8Array | string;
}

export const BOUNDARY = 'levinv-test-boundary';

/** A multipart/form-data body (Content-Type `multipart/form-data; boundary=${BOUNDARY}`). */
export function multipartBody(parts: Part[]): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"` : ''}`;
    pieces.push(
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n` +
          `${part.type ? `Content-Type: ${part.type}\r\n` : ''}\r\n`,
      ),
      Buffer.from(part.data),
      Buffer.from('\r\n'),
    );
  }
  pieces.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(pieces);
}

/**
 * For the fault benchmark: starts `slow` dribbling clients (each with `slowHeaders`, e.g. the same API key),
 * waits `settleMs` for them to be received, then sends `body` `rounds` times one after another and returns
 * each round's status and milliseconds; the dribblers are stopped at the end.
 */
export async function uploadLatencyWhileDribbling(
  base: string,
  body: Uint8Array,
  headers: Record<string, string>,
  options: { slow?: number; slowHeaders?: Record<string, string>; settleMs?: number; rounds?: number } = {},
): Promise<{ status: number; ms: number }[]> {
  const slow = Array.from({ length: options.slow ?? 2 }, () =>
    dribble(base, { headers: options.slowHeaders ?? {} }),
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? 200));
    const rounds: { status: number; ms: number }[] = [];
    for (let i = 0; i < (options.rounds ?? 5); i++) {
      const start = performance.now();
      const answer = await send(base, '/solve', body, headers);
      rounds.push({ status: answer.status, ms: performance.now() - start });
    }
    return rounds;
  } finally {
    for (const client of slow) client.stop();
  }
}
