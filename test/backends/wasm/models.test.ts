import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeValue } from '../../../src/formats/onnx/data-proto.js';
import { decodeOnnx } from '../../../src/formats/onnx/decode.js';
import type { Tensor } from '../../../src/core/tensor.js';
import { assertClose } from './harness.js';
import { prepareModel } from './model-runner.js';
import { hostVariants } from './variants.js';
import { sharedPath, skipUnlessShared } from '../../support/shared.js';

for (const name of ['mobilenet_v2', 'squeezenet1_1', 'mnist_cnn', 'tiny_bert_encoder', 'lstm_classifier']) {
  test(`${name} on the wasm backend matches its test data`, { skip: skipUnlessShared() }, async () => {
    const dir = sharedPath('models', name);
    const bytes = readFileSync(`${dir}/model.onnx`);
    const graph = decodeOnnx(bytes).graph;
    const inputs = graph.inputs.filter((info) => !graph.initializers.has(info.name));
    const data = `${dir}/test_data_set_0`;
    if (!existsSync(data)) return;
    const feeds = Object.fromEntries(inputs.map((input, i) => [input.name, decodeValue(readFileSync(`${data}/input_${i}.pb`), input.type)]));
    const expected = decodeValue(readFileSync(`${data}/output_0.pb`), graph.outputs[0]!.type) as Tensor;
    for (const variant of ['reference' as const, ...hostVariants()]) {
      const model = await prepareModel(bytes, variant);
      const output = model.run(feeds)[graph.outputs[0]!.name] as Tensor;
      const { placement } = model.finish();
      assertClose(output, expected, `${name} on ${variant} (ran ${JSON.stringify(placement)})`);
      await model.dispose();
    }
  });
}
