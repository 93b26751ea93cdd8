/**
 * `.npy` files on the server side: the format's reader and writer are the API's (src/contract/npy.ts, no
 * Node APIs, shared with the typed client); this adds the Buffer form Node's streams, files and replies take.
 */
import { npyBytes } from '../contract/npy.js';

export { MAX_HEADER_BYTES, type NpyArray, NpyError, npyBytes, parseNpy } from '../contract/npy.js';

/** npyBytes as a Buffer (no copy), for Node's streams, files and HTTP replies. */
export function encodeNpy(data: Float64Array, shape: readonly number[]): Buffer {
  const bytes = npyBytes(data, shape);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
