/**
 * Counts the bytes of every typed array and ArrayBuffer made after this point, by replacing the global
 * constructors with counting subclasses before the build is loaded (so its modules bind to them).
 */
export function countAllocations(): { bytes: number } {
  const counter = { bytes: 0 };
  const kinds = ['Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'] as const;
  const global = globalThis as unknown as Record<string, new (...a: unknown[]) => ArrayBufferView>;
  for (const kind of kinds) {
    const Base = global[kind]!;
    const Counting = class extends Base {
      constructor(...rest: unknown[]) {
        super(...rest);
        // A view over a given buffer allocates nothing.
        const tag = Object.prototype.toString.call(rest[0]);
        if (tag !== '[object ArrayBuffer]' && tag !== '[object SharedArrayBuffer]') counter.bytes += this.byteLength;
      }
    };
    Object.defineProperty(Counting, 'name', { value: kind });
    global[kind] = Counting;
  }
  const BaseBuffer = ArrayBuffer;
  global.ArrayBuffer = class extends BaseBuffer {
    constructor(length: number) {
      super(length);
      counter.bytes += length;
    }
  } as unknown as new (...a: unknown[]) => ArrayBufferView;
  return counter;
}
