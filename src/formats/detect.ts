import { EdgerunError } from '../core/errors.js';

export type ModelFormat = 'onnx' | 'tflite' | 'ptl';

/** The format from the bytes themselves; a file name is never trusted. */
export function detectFormat(bytes: Uint8Array): ModelFormat {
  if (bytes.length < 8) {
    throw new EdgerunError('MODEL_TRUNCATED', `a model needs more than ${bytes.length} bytes`);
  }
  if (bytes[4] === 0x54 && bytes[5] === 0x46 && bytes[6] === 0x4c && bytes[7] === 0x33) return 'tflite'; // "TFL3"
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'ptl'; // zip
  // A serialized ModelProto starts with a field tag: ir_version (0x08) in practice, any valid tag in principle.
  const fieldNumber = bytes[0]! >> 3;
  const wireType = bytes[0]! & 7;
  if (fieldNumber >= 1 && fieldNumber <= 20 && (wireType === 0 || wireType === 2)) return 'onnx';
  throw new EdgerunError('UNKNOWN_FORMAT', 'the bytes are not an ONNX, TFLite or PyTorch Mobile model');
}
