// sha1.js — incremental SHA-1 (FIPS 180-4), for X-Bz-Content-Sha1. Web
// Crypto cannot hash a stream, and only exists on secure origins; this
// hashes a file of any size in slices, so no more than one slice is ever in
// memory.

export class SHA1 {
  constructor() {
    this.h = new Int32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
    this.block = new Uint8Array(64);
    this.used = 0; // bytes in block
    this.length = 0; // bytes hashed so far
  }

  // update adds bytes (a Uint8Array).
  update(data) {
    let i = 0;
    this.length += data.length;
    if (this.used > 0) {
      const n = Math.min(64 - this.used, data.length);
      this.block.set(data.subarray(0, n), this.used);
      this.used += n;
      i = n;
      if (this.used < 64) return this;
      this.compress(this.block, 0);
      this.used = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.compress(data, i);
    if (i < data.length) {
      this.block.set(data.subarray(i), 0);
      this.used = data.length - i;
    }
    return this;
  }

  compress(b, o) {
    compress(this.h, b, o);
  }

  // hex finishes the hash and returns it as 40 hex digits.
  hex() {
    const bits = this.length * 8;
    const pad = new Uint8Array(((this.used < 56 ? 56 : 120) - this.used) + 8);
    pad[0] = 0x80;
    const hi = Math.floor(bits / 0x100000000);
    const lo = bits >>> 0;
    const n = pad.length;
    pad[n - 8] = hi >>> 24; pad[n - 7] = hi >>> 16; pad[n - 6] = hi >>> 8; pad[n - 5] = hi;
    pad[n - 4] = lo >>> 24; pad[n - 3] = lo >>> 16; pad[n - 2] = lo >>> 8; pad[n - 1] = lo;
    const len = this.length;
    this.update(pad);
    this.length = len;
    let out = '';
    for (const v of this.h) out += (v >>> 0).toString(16).padStart(8, '0');
    return out;
  }
}

// W is the message schedule, shared: compress never yields.
const W = new Int32Array(80);

// compress hashes the 64-byte block of b at o into H. A plain function on
// int32 values (constants written as signed 32-bit numbers) keeps V8 on its
// integer fast path; the four rounds are four loops without branches.
function compress(H, b, o) {
  const w = W;
  for (let t = 0; t < 16; t++, o += 4) w[t] = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
    w[t] = (x << 1) | (x >>> 31);
  }
  let a = H[0] | 0, bb = H[1] | 0, c = H[2] | 0, d = H[3] | 0, e = H[4] | 0;
  for (let t = 0; t < 20; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + ((bb & c) | (~bb & d)) + e + 1518500249 + w[t]) | 0;
    e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = tmp;
  }
  for (let t = 20; t < 40; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 1859775393 + w[t]) | 0;
    e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = tmp;
  }
  for (let t = 40; t < 60; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + ((bb & c) | (bb & d) | (c & d)) + e - 1894007588 + w[t]) | 0;
    e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = tmp;
  }
  for (let t = 60; t < 80; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e - 899497514 + w[t]) | 0;
    e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = tmp;
  }
  H[0] = (H[0] + a) | 0;
  H[1] = (H[1] + bb) | 0;
  H[2] = (H[2] + c) | 0;
  H[3] = (H[3] + d) | 0;
  H[4] = (H[4] + e) | 0;
}

// sha1Blob hashes a Blob (a File or a slice of one) as a stream: the
// browser hands over small chunks that die young, so memory stays flat
// however large the file (whole-slice ArrayBuffers would wait for a major
// collection). onProgress gets the bytes hashed so far; signal aborts.
export async function sha1Blob(blob, onProgress, signal) {
  const s = new SHA1();
  const reader = blob.stream().getReader();
  let done = 0;
  for (;;) {
    if (signal && signal.aborted) {
      reader.cancel();
      throw new DOMException('cancelled', 'AbortError');
    }
    const { value, done: end } = await reader.read();
    if (end) break;
    s.update(value);
    done += value.length;
    if (onProgress) onProgress(done);
  }
  return s.hex();
}
