import type { OpGenerator } from './harness.js';
import { generators as conv } from './ops-conv.js';
import { generators as example } from './ops-example.js';
import { generators as fp16 } from './ops-fp16.js';
import { generators as math } from './ops-math.js';
import { generators as ortGaps } from './ops-ort-gaps.js';
import { generators as quantChains } from './ops-quant-chains.js';
import { generators as tensor } from './ops-tensor.js';

/** Every generator family, one file each. */
export const generators: OpGenerator[] = [...example, ...math, ...conv, ...tensor, ...ortGaps, ...quantChains, ...fp16];
