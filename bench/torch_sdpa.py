#!/usr/bin/env python3
"""PyTorch reference for `tessera bench sdpa` on the GPU machine.

torch.nn.functional.scaled_dot_product_attention at N tokens (one sequence,
no mask), heads x head_dim, bf16/f16 inputs, with torch's backend pinned each
time (FLASH_ATTENTION, CUDNN_ATTENTION), so the ratio is against a known
kernel. FLOPs = 4 N^2 d heads. Median of CUDA-event timings after warm-up;
random inputs (never zeros). Prints a table and optionally writes CSV.
"""
import argparse
import csv
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch_timing import cuda_median_ms


def bench(fn, reps):
    return cuda_median_ms(fn, reps, warm_calls=3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", default="4096,16384,32768,65536")
    ap.add_argument("--configs", default="12x128,16x64", help="HEADSxDIM list")
    ap.add_argument("--dtypes", default="bf16,f16")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--csv")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("CUDA is not available")
    dev = torch.device("cuda")
    name = torch.cuda.get_device_name(0)
    dts = {"bf16": torch.bfloat16, "f16": torch.float16}
    rows = []
    print(f"{'backend':8} {'dtype':5} {'N':>7} {'heads':>5} {'d':>4} {'ms':>9} {'TFLOP/s':>8}")
    for cfg in a.configs.split(","):
        h, d = map(int, cfg.split("x"))
        for dt in a.dtypes.split(","):
            for n in map(int, a.tokens.split(",")):
                q, k, v = (torch.randn(1, h, n, d, device=dev, dtype=dts[dt]) for _ in range(3))
                for label, be in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                    try:
                        with sdpa_kernel([be]):
                            ms = bench(lambda: F.scaled_dot_product_attention(q, k, v), a.reps)
                    except Exception as e:  # a backend may refuse a shape
                        print(f"{label:8} {dt:5} {n:7} {h:5} {d:4}   unavailable: {str(e)[:60]}")
                        continue
                    tf = 4.0 * n * n * d * h / (ms * 1e-3) / 1e12
                    rows.append(dict(device=name, backend=label, dtype=dt, n=n, heads=h, head_dim=d, ms=ms, tflops=tf))
                    print(f"{label:8} {dt:5} {n:7} {h:5} {d:4} {ms:9.3f} {tf:8.1f}", flush=True)
                del q, k, v
                torch.cuda.empty_cache()
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()) if rows else ["device"])
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
