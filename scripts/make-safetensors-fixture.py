#!/usr/bin/python3
"""PyTorch <-> tsgrad safetensors interop, both directions.

1. PyTorch -> tsgrad (the default mode) writes two tiny fixtures:

     test/fixtures/torch-small.safetensors  a state dict made by torch:
         conv.weight/bias (Conv2d(1, 2, 3)), fc.weight/bias (Linear(4, 3)),
         bn.weight/bias/running_mean/running_var (F32) and
         bn.num_batches_tracked (I64) of a BatchNorm2d(2) after one training
         step, a F64 tensor, and "extra.*" tensors covering the other dtypes
         tsgrad reads (F16, BF16, I64, I32, I16, I8, U8, BOOL, an empty and a
         0-d tensor), plus string metadata;
     test/fixtures/torch-small.json         for every key its dtype, shape
         and values (flat, row-major, as JSON numbers), and the metadata.

   test/io/safetensors.test.ts loads the first with loadSafetensors and
   compares it with the second.

2. tsgrad -> PyTorch: `--check FILE` reads a safetensors file (for example
   one written by tsgrad's saveSafetensors) with torch and prints, for each
   key, its dtype, shape, sum and first values (row-major), then the
   metadata. It also checks the stricter rules of the reference
   implementation (header length a multiple of 8, tensors packed back to
   back from offset 0 with no gaps, buffer fully used) and exits non-zero if
   any fails. This direction is not part of the test suite (it needs torch);
   run it by hand after changing the writer, e.g. after `npx tsc -p .`:

       node --input-type=module -e "
         const { saveSafetensors } = await import('./dist/src/io/index.js');
         const { tensor } = await import('./dist/src/tensor/creation.js');
         saveSafetensors('/tmp/out.safetensors',
           { w: tensor([[1, 2, 3], [4, 5, 6]]).transpose() }, { producer: 'tsgrad' });"
       /usr/bin/python3 scripts/make-safetensors-fixture.py --check /tmp/out.safetensors

The `safetensors` Python package is not installed here, so the format is
written and read by hand (struct + json + numpy bytes). Both directions
assume a little-endian host, as safetensors itself is little-endian.

Rerun with the system interpreter (Debian's PyTorch only imports there):

    /usr/bin/python3 scripts/make-safetensors-fixture.py

The output is deterministic: running the script twice gives byte-identical
files.
"""

import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT_BIN = os.path.join(ROOT, "test", "fixtures", "torch-small.safetensors")
OUT_JSON = os.path.join(ROOT, "test", "fixtures", "torch-small.json")

# safetensors dtype name <-> torch dtype, with the item size in bytes.
DTYPES = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}
NAME_OF = {dt: name for name, (dt, _) in DTYPES.items()}


def state_dict():
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 2, 3)
    fc = nn.Linear(4, 3)
    bn = nn.BatchNorm2d(2)
    bn.train()
    with torch.no_grad():
        # One training step, so the running statistics are not just 0 and 1
        # and num_batches_tracked is 1.
        bn(torch.randn(4, 2, 3, 3) * 2 + 0.5)
    sd = {}
    for prefix, module in (("conv", conv), ("fc", fc), ("bn", bn)):
        for k, v in module.state_dict().items():
            sd[f"{prefix}.{k}"] = v.detach().clone()
    sd["extra.f64"] = torch.tensor([math.pi, -math.e, 1e-300, 0.1, 123456789.125], dtype=torch.float64)
    # 65504 is the largest half, 2**-24 the smallest subnormal.
    sd["extra.f16"] = torch.tensor([1.0, -2.5, 65504.0, 2.0**-24, 0.1, -0.0], dtype=torch.float16)
    sd["extra.bf16"] = torch.tensor([[1.0, -3.140625], [1e38, 2.0**-130]], dtype=torch.bfloat16)
    sd["extra.i64"] = torch.tensor([-(2**31), 2**31 - 1, 0, 5], dtype=torch.int64)
    sd["extra.i32"] = torch.tensor([[7, -8], [2**31 - 1, -(2**31)]], dtype=torch.int32)
    sd["extra.i16"] = torch.tensor([-32768, 32767, -1], dtype=torch.int16)
    sd["extra.i8"] = torch.tensor([-128, -1, 0, 127], dtype=torch.int8)
    sd["extra.u8"] = torch.tensor([0, 1, 128, 255], dtype=torch.uint8)
    sd["extra.mask"] = torch.tensor([True, False, True], dtype=torch.bool)
    sd["extra.empty"] = torch.zeros(0, 3)
    sd["extra.scalar"] = torch.tensor(-1.5)
    return sd


METADATA = {"format": "pt", "producer": "scripts/make-safetensors-fixture.py", "torch": "1.13"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16; the bit pattern is all that is needed.
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def encode(tensors, metadata):
    """Mimics the reference writer: largest item size first, then by name; header space-padded to 8."""
    order = sorted(tensors, key=lambda k: (-DTYPES[NAME_OF[tensors[k].dtype]][1], k))
    header = {"__metadata__": metadata}
    chunks = []
    offset = 0
    for k in order:
        data = tensor_bytes(tensors[k])
        header[k] = {
            "dtype": NAME_OF[tensors[k].dtype],
            "shape": list(tensors[k].shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def values(t):
    if t.dtype == torch.bfloat16:
        t = t.float()  # exact
    return t.reshape(-1).tolist()


def make_fixtures():
    sd = state_dict()
    with open(OUT_BIN, "wb") as f:
        f.write(encode(sd, METADATA))
    lines = [f'  "metadata": {json.dumps(METADATA, sort_keys=True)},', '  "tensors": {']
    keys = sorted(sd)
    for i, k in enumerate(keys):
        t = sd[k]
        entry = {"dtype": NAME_OF[t.dtype], "shape": list(t.shape), "values": values(t)}
        lines.append(f"    {json.dumps(k)}: {json.dumps(entry, allow_nan=False)}" + ("," if i < len(keys) - 1 else ""))
    lines.append("  }")
    with open(OUT_JSON, "w") as f:
        f.write("{\n" + "\n".join(lines) + "\n}\n")
    for p in (OUT_BIN, OUT_JSON):
        print(f"wrote {os.path.relpath(p, ROOT)} ({os.path.getsize(p)} bytes)")


def check(path):
    """Reads a safetensors file with torch; prints key, dtype, shape, sum. Returns the number of problems."""
    with open(path, "rb") as f:
        raw = f.read()
    problems = []
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    buf = raw[8 + n :]
    if n % 8 != 0:
        problems.append(f"header length {n} is not a multiple of 8")
    metadata = header.pop("__metadata__", None) or {}
    print(f"{path}: header {n} bytes, data {len(buf)} bytes, {len(header)} tensors")
    spans = sorted((info["data_offsets"][0], info["data_offsets"][1], k) for k, info in header.items())
    at = 0
    for begin, end, k in spans:
        if begin != at:
            problems.append(f"{k}: starts at {begin}, expected {at} (gap or overlap)")
        at = end
    if at != len(buf):
        problems.append(f"tensors end at {at}, buffer is {len(buf)} bytes")
    for k in sorted(header):
        info = header[k]
        dtype, size = DTYPES[info["dtype"]]
        shape = info["shape"]
        begin, end = info["data_offsets"]
        numel = math.prod(shape)
        if end - begin != numel * size:
            problems.append(f"{k}: {end - begin} bytes for {numel} x {size}")
            continue
        if numel == 0:
            t = torch.empty(shape, dtype=dtype)
        else:
            t = torch.frombuffer(bytearray(buf[begin:end]), dtype=dtype).reshape(shape)
        s = t.double().sum().item() if t.is_floating_point() else t.long().sum().item()
        first = t.reshape(-1)[:4]
        first = first.double() if t.is_floating_point() else first.long()
        head = ", ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in first.tolist())
        more = ", ..." if numel > 4 else ""
        print(f"  {k:<24} {info['dtype']:<5} {str(list(t.shape)):<14} sum={s:<14.9g} first=[{head}{more}]")
    for k in sorted(metadata):
        print(f"  metadata {k} = {metadata[k]!r}")
    for p in problems:
        print(f"  PROBLEM: {p}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return len(problems)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(1 if check(sys.argv[2]) else 0)
    elif len(sys.argv) == 1:
        make_fixtures()
    else:
        sys.exit("usage: make-safetensors-fixture.py [--check FILE]")
