import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WASM_MODULES } from '../../../src/backends/wasm/modules.generated.js';
import { decodeBase64 } from '../../../src/backends/wasm/runtime.js';

test('the embedded modules decode to the same valid wasm with atob and without it', () => {
  const host = globalThis as { atob?: typeof atob };
  const nativeAtob = host.atob;
  for (const [name, variants] of Object.entries(WASM_MODULES)) {
    for (const [variant, base64] of Object.entries(variants)) {
      const withAtob = decodeBase64(base64);
      host.atob = undefined;
      try {
        assert.deepEqual(decodeBase64(base64), withAtob, `${name}/${variant}`);
      } finally {
        host.atob = nativeAtob;
      }
      // The wasm magic number and version 1.
      assert.deepEqual([...withAtob.subarray(0, 8)], [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0], `${name}/${variant}`);
    }
  }
});
