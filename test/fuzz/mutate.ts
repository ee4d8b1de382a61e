/** Seeded mutations of model bytes: truncation, byte flips, and inflated protobuf length fields. */
export type Mutation = 'truncate' | 'flip' | 'inflate-length';
export const MUTATIONS: readonly Mutation[] = ['truncate', 'flip', 'inflate-length'];

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function mutate(bytes: Uint8Array, mutation: Mutation, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const out = Uint8Array.from(bytes);
  switch (mutation) {
    case 'truncate':
      return out.subarray(0, Math.floor(random() * bytes.length));
    case 'flip': {
      const flips = 1 + Math.floor(random() * 8);
      // Half the time aim at the header region where structure (tags, lengths, names) lives.
      const region = random() < 0.5 ? Math.min(bytes.length, 4096) : bytes.length;
      for (let i = 0; i < flips; i++) out[Math.floor(random() * region)]! ^= 1 << Math.floor(random() * 8);
      return out;
    }
    case 'inflate-length': {
      // Find a length-delimited field tag (wire type 2) and overwrite its varint length with a huge one.
      for (let attempt = 0; attempt < 64; attempt++) {
        const at = Math.floor(random() * Math.max(1, bytes.length - 6));
        if ((out[at]! & 7) !== 2 || out[at]! >> 3 === 0) continue;
        const huge = [0xff, 0xff, 0xff, 0xff, 0x0f];
        const width = 1 + Math.floor(random() * huge.length);
        for (let i = 0; i < width && at + 1 + i < out.length; i++) out[at + 1 + i] = i === width - 1 ? huge[i]! & 0x7f : huge[i]!;
        return out;
      }
      return out;
    }
  }
}
