import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): time-ordered, so ids sort by creation and index well.
 * The counter in rand_a keeps ids monotonic within one millisecond.
 */
let lastMs = 0;
let sequence = 0;

// One system call fills randomness for hundreds of ids.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomSlice(size: number): Buffer {
  if (poolOffset + size > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const slice = pool.subarray(poolOffset, poolOffset + size);
  poolOffset += size;
  return slice;
}

/** The id's text is written into one buffer: no intermediate buffers or strings per id. */
const text = Buffer.alloc(36, '-');
const HEX_DIGITS = Buffer.from('0123456789abcdef');

function putHex(at: number, byte: number): void {
  text[at] = HEX_DIGITS[byte >> 4] as number;
  text[at + 1] = HEX_DIGITS[byte & 15] as number;
}

export function uuidv7(now: number = Date.now()): string {
  if (now <= lastMs) {
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) lastMs += 1;
    now = lastMs;
  } else {
    lastMs = now;
    sequence = randomSlice(2).readUInt16BE(0) & 0x7ff;
  }
  const random = randomSlice(8);
  // unix_ts_ms (48 bits) | ver 7 + rand_a (the counter, 12 bits) | var 0b10 + rand_b (62 bits)
  const high = Math.floor(now / 0x10000);
  putHex(0, high >>> 24);
  putHex(2, (high >>> 16) & 0xff);
  putHex(4, (high >>> 8) & 0xff);
  putHex(6, high & 0xff);
  putHex(9, (now >>> 8) & 0xff);
  putHex(11, now & 0xff);
  putHex(14, 0x70 | (sequence >> 8));
  putHex(16, sequence & 0xff);
  putHex(19, 0x80 | ((random[0] as number) & 0x3f));
  putHex(21, random[1] as number);
  for (let i = 2; i < 8; i += 1) putHex(20 + 2 * i, random[i] as number);
  return text.toString('latin1', 0, 36);
}
