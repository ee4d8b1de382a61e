import { registerOp } from './registry.js';
import { ops as cast } from './cast.js';
import { ops as controlFlow } from './control-flow.js';
import { ops as conv } from './conv.js';
import { ops as fused } from './fused.js';
import { ops as generate } from './generate.js';
import { ops as image } from './image.js';
import { ops as indexing } from './indexing.js';
import { ops as loss } from './loss.js';
import { ops as mathBinary } from './math-binary.js';
import { ops as mathUnary } from './math-unary.js';
import { ops as matmul } from './matmul.js';
import { ops as ml } from './ml.js';
import { ops as normalization } from './normalization.js';
import { ops as pool } from './pool.js';
import { ops as quantize } from './quantize.js';
import { ops as random } from './random.js';
import { ops as reduce } from './reduce.js';
import { ops as rnn } from './rnn.js';
import { ops as sequence } from './sequence.js';
import { ops as shape } from './shape.js';
import { ops as signal } from './signal.js';
import { ops as text } from './text.js';
import { ops as training } from './training.js';

/** The whole op catalogue, one array per op family file. */
registerOp(
  ...cast,
  ...controlFlow,
  ...conv,
  ...fused,
  ...generate,
  ...image,
  ...indexing,
  ...loss,
  ...mathBinary,
  ...mathUnary,
  ...matmul,
  ...ml,
  ...normalization,
  ...pool,
  ...quantize,
  ...random,
  ...reduce,
  ...rnn,
  ...sequence,
  ...shape,
  ...signal,
  ...text,
  ...training,
);
