import { EdgerunError } from '../core/errors.js';

/** Mono 16-bit PCM WAV -> samples in [-1, 1). Enough for the demo's own clip and for user clips alike. */
export function readWav16(bytes: Uint8Array, label: string): { sampleRate: number; samples: Float32Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || text(0) !== 'RIFF' || text(8) !== 'WAVE') throw new EdgerunError('INVALID_ARGUMENT', `${label}: not a WAV file`);
  let sampleRate = 0;
  let channels = 0;
  let bits = 0;
  for (let offset = 12; offset + 8 <= bytes.length; ) {
    const id = text(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
    } else if (id === 'data') {
      if (channels !== 1 || bits !== 16) throw new EdgerunError('UNSUPPORTED_TYPE', `${label}: need mono 16-bit PCM, got ${channels} channel(s) of ${bits} bits`);
      const count = Math.floor(Math.min(size, bytes.length - body) / 2);
      const samples = new Float32Array(count);
      for (let i = 0; i < count; i++) samples[i] = view.getInt16(body + 2 * i, true) / 32768;
      return { sampleRate, samples };
    }
    offset = body + size + (size & 1);
  }
  throw new EdgerunError('INVALID_ARGUMENT', `${label}: no audio data chunk`);
}
