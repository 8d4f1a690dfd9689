/** A small seeded pseudo-random generator: the same seed gives the same ids and the same faults. */
export type Prng = {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, bound). */
  int(bound: number): number;
  /** `bytes` random bytes as lowercase hex. */
  hex(bytes: number): string;
  /** A random (version 4 layout) UUID. */
  uuid(): string;
  /** A decimal string of exactly `length` digits, never starting with 0 (like Interlace's transfer ids). */
  digits(length: number): string;
  /** A string of `length` characters drawn from `alphabet`. */
  pick(alphabet: string, length: number): string;
};

/**
 * mulberry32: 32 bits of state, fast and good enough for test data. Not cryptographic: tokens and
 * codes of the simulator are predictable on purpose, so runs are reproducible.
 */
export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => uint32() / 4_294_967_296;
  const int = (bound: number): number => Math.floor(next() * bound);
  const bytes = (count: number): Buffer => {
    const buffer = Buffer.alloc(count);
    for (let i = 0; i < count; i += 1) buffer[i] = uint32() & 0xff;
    return buffer;
  };
  return {
    next,
    int,
    hex: (count) => bytes(count).toString('hex'),
    uuid: () => {
      const b = bytes(16);
      b[6] = (b[6]! & 0x0f) | 0x40;
      b[8] = (b[8]! & 0x3f) | 0x80;
      const hex = b.toString('hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
    digits: (length) => {
      let out = String(1 + int(9));
      while (out.length < length) out += String(int(10));
      return out;
    },
    pick: (alphabet, length) => {
      let out = '';
      for (let i = 0; i < length; i += 1) out += alphabet[int(alphabet.length)]!;
      return out;
    },
  };
}

/** Derives an independent stream from a seed, so fault draws do not shift when more ids are made. */
export function deriveSeed(seed: number, stream: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream, 0x85ebca6b)) >>> 0;
}
