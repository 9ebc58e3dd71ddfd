"""Output shapes and parameter counts of torch.nn layers, for
pytorch_parity_test: reads a JSON list of cases on stdin, writes one line per
case, "C H W ... | params", or "error: ..." when PyTorch refuses the layer.

Each case: {"type": "Conv2d", "args": {...torch kwargs...}, "input": [C, H, W],
            "keras_same": false}
keras_same: the layer is a Conv2d with Keras 'same' padding: pad
max((out - 1) * stride + dilation * (kernel - 1) + 1 - in, 0) in total,
the odd pixel at the bottom/right, then convolve without padding.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def run(case):
    args = dict(case["args"])
    x = torch.zeros([2] + case["input"])
    if case.get("keras_same"):
        k, s, d = pair(args["kernel_size"]), pair(args.get("stride", 1)), pair(args.get("dilation", 1))
        pads = []
        for i in (1, 0):  # F.pad wants the last dimension first
            size = case["input"][i + 1]
            out = math.ceil(size / s[i])
            total = max((out - 1) * s[i] + d[i] * (k[i] - 1) + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        x = F.pad(x, pads)
        args["padding"] = 0
    layer = getattr(torch.nn, case["type"])(**args)
    layer.eval()
    with torch.no_grad():
        y = layer(x)
    params = sum(p.numel() for p in layer.parameters())
    return " ".join(str(d) for d in y.shape[1:]) + " | " + str(params)


def main():
    for case in json.load(sys.stdin):
        try:
            print(run(case))
        except Exception as e:  # PyTorch refused the layer: report it
            print("error: " + str(e).splitlines()[0])


if __name__ == "__main__":
    main()
