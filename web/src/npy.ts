/**
 * Just enough of NumPy's .npy format to read back the vectors of an upload (sigma, xStar) for the plots:
 * little-endian float64, C order. The server checks the files properly; this only tries.
 */
export function readNpyVector(bytes: ArrayBuffer): number[] | undefined {
  const view = new DataView(bytes);
  if (bytes.byteLength < 10 || view.getUint8(0) !== 0x93) return undefined;
  const major = view.getUint8(6);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = new TextDecoder('latin1').decode(new Uint8Array(bytes, 0, start));
  if (!/['"]descr['"]\s*:\s*['"]<f8['"]/.test(header) || /fortran_order['"]\s*:\s*True/.test(header)) {
    return undefined;
  }
  const count = Math.floor((bytes.byteLength - start) / 8);
  const out = new Array<number>(count);
  for (let k = 0; k < count; k++) out[k] = view.getFloat64(start + 8 * k, true);
  return out;
}
