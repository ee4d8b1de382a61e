#!/usr/bin/python3
"""Writes the small segmentation models of test/models/ (run with Debian's python3 + python3-onnx + numpy).

A U-Net stage in the shape of the background-removal networks shipped on npm (ISNet/U2-Net: strided input conv,
conv + ReLU, ceil-mode max pooling, linear Resize back to the skip connection's size, Concat, a 1x1 side
output and a Sigmoid), with seeded He-initialized weights, written three ways:

  tiny-unet-quint8.onnx  dynamically quantized as onnxruntime's quantize_dynamic writes it for uint8:
                         every Conv becomes DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul -> Add(bias),
                         weights uint8 per tensor with their own scale and zero point
  tiny-unet-fp16.onnx    the float16 twin: float16 weights and activations, float32 input and output
                         through Cast nodes (keep_io_types), as float16 converters write it
  (the float32 model is built in memory only, as the source of both)

Usage: /usr/bin/python3 scripts/make-quant-models.py [output-folder]   (default test/models)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
RNG = np.random.default_rng(20261205)

# (name, input, in channels, out channels, kernel, stride, pad, relu)
CONVS = [
    ("conv_in", "input", 3, 8, 3, 2, 1, True),
    ("enc1", "conv_in_out", 8, 11, 3, 1, 1, True),
    ("enc2", "pool_out", 11, 13, 3, 1, 1, True),
    ("dec1", "cat_out", 24, 9, 3, 1, 1, True),
    ("side", "dec1_out", 9, 1, 1, 1, 0, False),
]
SIZE = 61  # the strided conv gives 31, ceil-mode pooling 16 (a partial window), Resize returns to 31 by sizes


def conv_weights(cin, cout, kernel):
    scale = np.sqrt(2.0 / (cin * kernel * kernel))
    return (RNG.standard_normal((cout, cin, kernel, kernel)) * scale).astype(np.float32), (RNG.standard_normal(cout) * 0.1).astype(np.float32)


WEIGHTS = {name: conv_weights(cin, cout, k) for name, _, cin, cout, k, _, _, _ in CONVS}


def structure(conv):
    """The graph around the convolutions: conv(name, input) -> output name; the rest is the same in every form."""
    nodes = []
    for name, source, _, _, _, _, _, relu in CONVS:
        if name == "enc2":
            nodes.append(helper.make_node("MaxPool", ["enc1_out"], ["pool_out"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1))
        if name == "dec1":
            nodes.append(helper.make_node("Resize", ["enc2_out", "", "", "resize_sizes"], ["up_out"], mode="linear", coordinate_transformation_mode="half_pixel"))
            nodes.append(helper.make_node("Concat", ["up_out", "enc1_out"], ["cat_out"], axis=1))
        produced = conv(name, source, nodes)
        if relu:
            nodes.append(helper.make_node("Relu", [produced], [f"{name}_out"]))
        else:
            nodes.append(helper.make_node("Identity", [produced], [f"{name}_out"]))
    nodes.append(helper.make_node("Sigmoid", ["side_out"], ["mask"]))
    return nodes


def conv_spec(name):
    return next(c for c in CONVS if c[0] == name)


def float_conv(initializers, dtype):
    def conv(name, source, nodes):
        _, _, _, _, kernel, stride, pad, _ = conv_spec(name)
        w, b = WEIGHTS[name]
        initializers.extend([numpy_helper.from_array(w.astype(dtype), f"{name}.weight"), numpy_helper.from_array(b.astype(dtype), f"{name}.bias")])
        nodes.append(helper.make_node("Conv", [source, f"{name}.weight", f"{name}.bias"], [f"{name}_conv"], kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad] * 4))
        return f"{name}_conv"

    return conv


def quantize_uint8(w):
    """quantize_dynamic's uint8 weights: the range widened to hold 0, scale = range / 255, zero point rounded."""
    rmin, rmax = min(float(w.min()), 0.0), max(float(w.max()), 0.0)
    scale = np.float32((rmax - rmin) / 255.0)
    zero_point = np.uint8(np.clip(np.round(-rmin / scale), 0, 255))
    quantized = np.clip(np.round(w / scale) + zero_point, 0, 255).astype(np.uint8)
    return quantized, scale, zero_point


def dynamic_conv(initializers):
    def conv(name, source, nodes):
        _, _, _, cout, kernel, stride, pad, _ = conv_spec(name)
        w, b = WEIGHTS[name]
        quantized, scale, zero_point = quantize_uint8(w)
        initializers.extend([
            numpy_helper.from_array(quantized, f"{name}.weight_quantized"),
            numpy_helper.from_array(np.array(scale, np.float32), f"{name}.weight_scale"),
            numpy_helper.from_array(np.array(zero_point, np.uint8), f"{name}.weight_zero_point"),
            numpy_helper.from_array(b.reshape(1, cout, 1, 1), f"{name}.bias"),
        ])
        nodes += [
            helper.make_node("DynamicQuantizeLinear", [source], [f"{name}_xq", f"{name}_xscale", f"{name}_xzp"]),
            helper.make_node("Mul", [f"{name}_xscale", f"{name}.weight_scale"], [f"{name}_scales"]),
            helper.make_node(
                "ConvInteger", [f"{name}_xq", f"{name}.weight_quantized", f"{name}_xzp", f"{name}.weight_zero_point"], [f"{name}_acc"],
                kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad] * 4,
            ),
            helper.make_node("Cast", [f"{name}_acc"], [f"{name}_accf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{name}_accf", f"{name}_scales"], [f"{name}_scaled"]),
            helper.make_node("Add", [f"{name}_scaled", f"{name}.bias"], [f"{name}_conv"]),
        ]
        return f"{name}_conv"

    return conv


def sizes_initializer():
    return numpy_helper.from_array(np.array([1, 13, 31, 31], np.int64), "resize_sizes")


def save(nodes, initializers, elem_type, path, input_name="input", output_name="mask"):
    graph = helper.make_graph(
        nodes, "tiny_unet",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info(output_name, elem_type, [1, 1, 31, 31])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="edgerun scripts/make-quant-models.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    print(f"{path}: {os.path.getsize(path)} bytes, {len(nodes)} nodes")


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "test/models"
    os.makedirs(folder, exist_ok=True)

    initializers = [sizes_initializer()]
    save(structure(dynamic_conv(initializers)), initializers, TensorProto.FLOAT, os.path.join(folder, "tiny-unet-quint8.onnx"))

    # float16 twin: Cast the float32 input to float16 first, the float16 mask back to float32 last.
    initializers = [sizes_initializer()]
    nodes = [helper.make_node("Cast", ["input"], ["input_fp16"], to=TensorProto.FLOAT16)]
    body = structure(float_conv(initializers, np.float16))
    for node in body:
        node.input[:] = ["input_fp16" if name == "input" else name for name in node.input]
    nodes += body
    nodes.append(helper.make_node("Cast", ["mask"], ["mask_fp32"], to=TensorProto.FLOAT))
    save(nodes, initializers, TensorProto.FLOAT, os.path.join(folder, "tiny-unet-fp16.onnx"), output_name="mask_fp32")


if __name__ == "__main__":
    main()
