/**
 * Saving and loading named tensors in the safetensors format (PyTorch's and Hugging Face's): an
 * 8-byte little-endian header length N, N bytes of JSON (`{"name": {"dtype", "shape",
 * "data_offsets": [begin, end]}, "__metadata__": {...}}`, padded with spaces to a multiple of 8),
 * then the tensors' bytes, little-endian, with no holes. float32 tensors are F32, int32 I32 and
 * bool BOOL (one byte, 0 or 1), written and read. The layout is the reference library's: tensors by dtype (wider first: F32, I32, BOOL), then in name order, compact
 * JSON, `__metadata__` first when given, so the same record gives the same bytes as Python's.
 */
import { InvalidArgumentError, SafetensorsError } from './errors.ts';
import { tensor } from './creation.ts';
import { fmt, sizeOf } from './shape.ts';
import { Tensor } from './tensor.ts';
import type { DType } from './dtype.ts';

/** Each dtype's name in the format and its bytes per element. */
const FORMAT: Readonly<Record<DType, readonly [string, number]>> = { float32: ['F32', 4], int32: ['I32', 4], bool: ['BOOL', 1] };
const RANK_ORDER: readonly DType[] = ['float32', 'int32', 'bool'];

/** Options of pg.saveSafetensors(). */
export interface SaveSafetensorsOptions {
  /**
   * String pairs stored under the header's `__metadata__` key (what Python's `save_file(...,
   * metadata=)` writes).
   * @example
   * await pg.saveSafetensors({ w }, { metadata: { format: 'pt', step: '200' } });
   */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The format's key for free-form string metadata; no tensor may have this name. */
const METADATA_KEY = '__metadata__';
/** The reference library refuses headers above 100 MB; so does this loader, before parsing. */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Serialises named tensors to safetensors bytes (F32, I32 or BOOL by dtype, little-endian), reading every tensor in one
 * batch. The tensors are left as they are.
 *
 * @example
 * const bytes = await pg.saveSafetensors({ 'palette': P, 'logits': L });
 * await fs.promises.writeFile('model.safetensors', bytes); // Node; in a browser, a Blob download
 */
export async function saveSafetensors(record: Readonly<Record<string, Tensor>>, options: SaveSafetensorsOptions = {}): Promise<Uint8Array> {
  const op = 'saveSafetensors';
  if (!record || typeof record !== 'object' || Array.isArray(record) || record instanceof Tensor) {
    throw new InvalidArgumentError(`${op}: record must be an object of named tensors ({ name: tensor }), got ${describeValue(record)}`);
  }
  if (!options || typeof options !== 'object') throw new InvalidArgumentError(`${op}: options must be an object, got ${describeValue(options)}`);
  const names = Object.keys(record).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const t = record[name];
    if (name === '' || name === METADATA_KEY) throw new InvalidArgumentError(`${op}: record key ${JSON.stringify(name)} is not a valid tensor name`);
    if (!(t instanceof Tensor)) throw new InvalidArgumentError(`${op}: record[${JSON.stringify(name)}] is ${describeValue(t)}, not a Tensor`);
    t._live(`${op} record[${JSON.stringify(name)}]`);
  }
  const metadata = options.metadata;
  if (metadata !== undefined) {
    if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) throw new InvalidArgumentError(`${op}: options.metadata must be an object of strings, got ${describeValue(metadata)}`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new InvalidArgumentError(`${op}: options.metadata[${JSON.stringify(k)}] must be a string, got ${describeValue(v)}`);
    }
  }
  // As the reference library: wider dtypes first (keeps every tensor aligned), then by name.
  names.sort((a, b) => RANK_ORDER.indexOf(record[a]!.dtype) - RANK_ORDER.indexOf(record[b]!.dtype));
  const values = await Promise.all(names.map((n) => record[n]!.data<DType>()));

  const header: Record<string, unknown> = {};
  // Keys sorted, as the reference library writes them.
  if (metadata !== undefined) header[METADATA_KEY] = Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  let offset = 0;
  names.forEach((name, i) => {
    const [dtype, width] = FORMAT[record[name]!.dtype];
    const bytes = values[i]!.length * width;
    header[name] = { dtype, shape: [...record[name]!.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  });
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const v of values) {
    if (v instanceof Uint8Array) out.set(v, at);
    else if (v instanceof Int32Array) for (let j = 0; j < v.length; j++) view.setInt32(at + 4 * j, v[j]!, true);
    else for (let j = 0; j < v.length; j++) view.setFloat32(at + 4 * j, v[j]!, true);
    at += v.byteLength;
  }
  return out;
}

/**
 * Reads safetensors bytes (from PyTorch, Hugging Face or saveSafetensors) into new tensors on the
 * active backend: F32 as float32, I32 as int32 (beyond ±2^24 is a LimitError: int32 values are
 * float32 underneath) and BOOL as bool; any other dtype, or a malformed header, throws
 * SafetensorsError naming the tensor and what is wrong. The `__metadata__` entry is skipped.
 *
 * @example
 * const weights = pg.loadSafetensors(new Uint8Array(await (await fetch('model.safetensors')).arrayBuffer()));
 * weights.palette!.shape; // [8, 3]
 */
export function loadSafetensors(bytes: Uint8Array | ArrayBuffer): Record<string, Tensor> {
  const op = 'loadSafetensors';
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`${op}: bytes must be a Uint8Array or an ArrayBuffer, got ${describeValue(bytes)}`);
  if (bytes.length < 8) throw new SafetensorsError(`${op}: ${bytes.length} bytes is too short for the 8-byte header length; is this a safetensors file?`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw new SafetensorsError(`${op}: the header length ${headerLength} does not fit the ${bytes.length}-byte input (at most ${Math.min(MAX_HEADER_BYTES, bytes.length - 8)}); the file is truncated or not safetensors`);
  }
  const n = Number(headerLength);
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
    if (!text.startsWith('{')) throw new Error('the header does not start with "{"');
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${op}: the ${n}-byte header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new SafetensorsError(`${op}: the header must be a JSON object of tensor entries`);
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;

  const entries: { name: string; shape: number[]; begin: number; end: number; dtype: DType }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) continue;
    const where = `${op}: tensor ${JSON.stringify(name)}`;
    if (!info || typeof info !== 'object') throw new SafetensorsError(`${where}: its entry must be an object with dtype, shape and data_offsets`);
    const { dtype, shape, data_offsets: offsets } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string') throw new SafetensorsError(`${where}: dtype is missing`);
    const ours = (Object.keys(FORMAT) as DType[]).find((d) => FORMAT[d][0] === dtype);
    if (!ours) throw new SafetensorsError(`${where} has dtype ${dtype}; pixelgrad reads F32, I32 and BOOL only (convert it, e.g. tensor.float() in PyTorch, before saving)`);
    const width = FORMAT[ours][1];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new SafetensorsError(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new SafetensorsError(`${where}: data_offsets must be [begin, end], got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const bytesNeeded = sizeOf(shape) * width;
    if (end < begin || end - begin !== bytesNeeded) {
      throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dtype} of shape ${fmt(shape)} needs ${bytesNeeded}`);
    }
    if (end > dataLength) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] run past the ${dataLength} bytes of data; the file is truncated`);
    entries.push({ name, shape, begin, end, dtype: ours });
  }
  // The format requires the data to be covered exactly: no holes, no overlaps.
  const ordered = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of ordered) {
    if (e.begin !== covered) {
      throw new SafetensorsError(`${op}: tensor ${JSON.stringify(e.name)} starts at byte ${e.begin} of the data, expected ${covered} (${e.begin < covered ? 'overlapping tensors' : 'a hole in the data'})`);
    }
    covered = e.end;
  }
  if (covered !== dataLength) throw new SafetensorsError(`${op}: the tensors cover ${covered} of the ${dataLength} data bytes; the rest is unaccounted for`);

  const out: Record<string, Tensor> = {};
  for (const e of entries) {
    const at = dataStart + e.begin;
    const n = sizeOf(e.shape);
    const values = e.dtype === 'bool' ? bytes.slice(at, at + n) : e.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
    if (values instanceof Int32Array) for (let j = 0; j < n; j++) values[j] = view.getInt32(at + 4 * j, true);
    else if (values instanceof Float32Array) for (let j = 0; j < n; j++) values[j] = view.getFloat32(at + 4 * j, true);
    out[e.name] = tensor(values, { shape: e.shape }, op);
  }
  return out;
}

function describeValue(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (x instanceof Tensor) return `a Tensor of shape ${fmt(x.shape)}`;
  return typeof x === 'string' ? JSON.stringify(x) : typeof x;
}
