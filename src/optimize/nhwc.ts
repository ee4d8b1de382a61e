import type { AttributeWithDoc, Node } from '../core/graph.js';
import { Tensor } from '../core/tensor.js';
import { EDGERUN_DOMAIN, toNchwPerm, toNhwcPerm } from '../ops/fused.js';
import { analyze, constantInitializers, isFloatTensor, namer, rankOf, type GraphPass, type PassContext } from './pass.js';
import { topologicalNodes } from './topology.js';

const RANK = 4;
const TO_NHWC = toNhwcPerm(RANK);
const TO_NCHW = toNchwPerm(RANK);

/** Ops with an NHWC form: the op it becomes. */
const NHWC_FORM: Record<string, string> = {
  Conv: 'FusedConv',
  FusedConv: 'FusedConv',
  MaxPool: 'NhwcMaxPool',
  AveragePool: 'NhwcAveragePool',
  GlobalAveragePool: 'NhwcGlobalAveragePool',
};

/** Element-wise ops that compute the same in any layout: only their operands' axes move. */
const ELEMENTWISE = new Set(['Relu', 'Clip', 'Sigmoid', 'HardSwish', 'HardSigmoid', 'LeakyRelu', 'Tanh', 'Add', 'Sub', 'Mul', 'Div', 'Sum', 'FusedAdd']);
/** Of those, the ops whose inputs past the first are parameters, not operands (Clip's bounds). */
const UNARY_WITH_PARAMETERS = new Set(['Clip']);

/**
 * NHWC layout for 2-D convolution chains. Every Conv / FusedConv and pool on a 4-D float tensor becomes its
 * NHWC form between a Transpose to NHWC and one back; then the Transpose back is pushed below every
 * element-wise op and channel Concat it feeds (constant operands re-laid out), so that a following
 * transpose cancellation leaves the chain in NHWC with transposes only where it meets NCHW ops or the
 * graph's inputs and outputs.
 */
export const nhwcLayout: GraphPass = {
  name: 'nhwc-layout',
  run(graph, context) {
    const inferred = analyze(graph, context);
    const fresh = namer(graph);
    const constants = constantInitializers(graph, context);
    const initializers = new Map(graph.initializers);
    const transposeNode = (input: string, perm: number[], output: string): Node => ({
      name: fresh(`${output}_transpose`),
      opType: 'Transpose',
      domain: '',
      inputs: [input],
      outputs: [output],
      attributes: { perm: { type: 'ints', value: perm } },
    });
    /** value -> the NHWC value it is the NCHW transpose of, for values this pass moved to NHWC. */
    const nhwcOf = new Map<string, string>();
    const nodes: Node[] = [];
    for (const node of topologicalNodes(graph)) {
      const layoutOp = nhwcFormOf(node, context) && rankOf(inferred, node.inputs[0]!) === RANK && isFloatTensor(inferred, node.inputs[0]!);
      if (layoutOp) {
        const input = nhwcOf.get(node.inputs[0]!) ?? fresh(`${node.inputs[0]}_nhwc`);
        if (!nhwcOf.has(node.inputs[0]!)) nodes.push(transposeNode(node.inputs[0]!, TO_NHWC, input));
        const output = fresh(`${node.outputs[0]}_nhwc`);
        nodes.push(nhwcNode(node, input, output, context));
        nodes.push(transposeNode(output, TO_NCHW, node.outputs[0]!));
        nhwcOf.set(node.outputs[0]!, output);
        continue;
      }
      const operands = movableOperands(node, nhwcOf, constants);
      if (!operands) {
        nodes.push(node);
        continue;
      }
      const inputs = node.inputs.map((name, index) => {
        const operand = operands[index];
        if (operand === undefined) return name;
        if (typeof operand === 'string') return operand;
        const laidOut = fresh(`${name}_nhwc`);
        initializers.set(laidOut, operand);
        return laidOut;
      });
      const output = fresh(`${node.outputs[0]}_nhwc`);
      nodes.push({ ...node, inputs, outputs: [output], attributes: movedAttributes(node) });
      nodes.push(transposeNode(output, TO_NCHW, node.outputs[0]!));
      nhwcOf.set(node.outputs[0]!, output);
    }
    return nhwcOf.size === 0 ? graph : { ...graph, nodes, initializers };
  },
};

function nhwcFormOf(node: Node, context: PassContext): string | undefined {
  const form = NHWC_FORM[node.opType];
  if (!form) return undefined;
  if (node.opType === 'FusedConv') {
    const layout = node.attributes.layout;
    return node.domain === EDGERUN_DOMAIN && (layout === undefined || (layout.type === 'string' && layout.value === 'NCHW')) ? form : undefined;
  }
  if (node.domain !== '' || !context.resolve(node)) return undefined;
  // MaxPool's Indices address the NCHW tensor.
  return node.outputs.slice(1).some((name) => name !== '') ? undefined : form;
}

function nhwcNode(node: Node, input: string, output: string, context: PassContext): Node {
  const attributes: Record<string, AttributeWithDoc> = { ...node.attributes };
  delete attributes.storage_order;
  if (node.opType === 'Conv' || node.opType === 'FusedConv') attributes.layout = { type: 'string', value: 'NHWC' };
  const resolved = context.resolve(node);
  // AveragePool before opset 7 had no count_include_pad; the NHWC pool has the newest attributes.
  if (resolved && 'count_include_pad' in resolved.attributes) attributes.count_include_pad = { type: 'int', value: resolved.attributes.count_include_pad as number };
  return { name: node.name, opType: NHWC_FORM[node.opType]!, domain: EDGERUN_DOMAIN, inputs: [input, ...node.inputs.slice(1)], outputs: [output], attributes };
}

/**
 * For a node that can run on NHWC operands, per input: the NHWC value to read instead, a constant re-laid
 * out, or undefined to keep (parameters, scalars). Undefined when some operand has no NHWC form or none
 * was moved (the node stays as it is).
 */
function movableOperands(node: Node, nhwcOf: Map<string, string>, constants: Map<string, Tensor>): (string | Tensor | undefined)[] | undefined {
  const isConcat = node.opType === 'Concat';
  if (node.domain !== (node.opType === 'FusedAdd' ? EDGERUN_DOMAIN : '') || !(ELEMENTWISE.has(node.opType) || isConcat)) return undefined;
  if (node.outputs.length !== 1) return undefined;
  const operandCount = UNARY_WITH_PARAMETERS.has(node.opType) ? 1 : node.inputs.length;
  const operands: (string | Tensor | undefined)[] = [];
  let moved = false;
  for (const [index, name] of node.inputs.entries()) {
    if (index >= operandCount) {
      operands.push(undefined);
      continue;
    }
    const nhwc = nhwcOf.get(name);
    if (nhwc) {
      operands.push(nhwc);
      moved = true;
      continue;
    }
    const constant = constants.get(name);
    if (!constant || isConcat || constant.dims.length > RANK) return undefined;
    operands.push(constant.size === 1 ? undefined : laidOutNhwc(constant));
  }
  return moved ? operands : undefined;
}

/** A constant operand broadcast against NCHW tensors, as the NHWC operand broadcasting the same way. */
function laidOutNhwc(constant: Tensor): Tensor {
  const dims = [...new Array<number>(RANK - constant.dims.length).fill(1), ...constant.dims];
  const outDims = TO_NHWC.map((axis) => dims[axis]!);
  const [, C, H, W] = dims as [number, number, number, number];
  const out = new (constant.data.constructor as new (length: number) => Float32Array)(constant.size);
  const source = constant.data as Float32Array;
  const N = dims[0]!;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) out[((n * H + h) * W + w) * C + c] = source[((n * C + c) * H + h) * W + w]!;
      }
    }
  }
  return new Tensor(constant.type, out, outDims);
}

/** Concat's axis counted in NHWC. */
function movedAttributes(node: Node): Record<string, AttributeWithDoc> {
  if (node.opType !== 'Concat') return node.attributes;
  const axis = node.attributes.axis;
  const value = axis?.type === 'int' ? axis.value : 1;
  const nchwAxis = value < 0 ? value + RANK : value;
  return { ...node.attributes, axis: { type: 'int', value: TO_NHWC.indexOf(nchwAxis) } };
}
