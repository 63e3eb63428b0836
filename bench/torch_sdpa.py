#!/usr/bin/env python3
"""PyTorch reference for `tessera bench sdpa` on the GPU machine.

torch.nn.functional.scaled_dot_product_attention at N tokens (one sequence,
no mask), heads x head_dim, bf16/f16 inputs, with torch's backend pinned each
time (FLASH_ATTENTION, CUDNN_ATTENTION), so the ratio is against a known
kernel. FLOPs = 4 N^2 d heads. Median of CUDA-event timings after warm-up;
random inputs (never zeros). Prints a table and optionally writes CSV.

--device cpu: the same shapes on the CPU (f32 by default, --threads sets
torch's threads), to compare with Tessera's CPU backend. torch >= 2.0 runs
F.scaled_dot_product_attention (its CPU kernel, backend "sdpa"); older torch
(Debian's 1.13) has none, so the "math" row is softmax(q kᵀ scale) v with the
N x N scores materialised. Median wall-clock time.
"""
import argparse
import csv
import os
import sys

import torch
import torch.nn.functional as F
from torch_timing import cuda_median_ms, wall_median_ms


def bench(fn, reps):
    return cuda_median_ms(fn, reps, warm_calls=3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", default="4096,16384,32768,65536")
    ap.add_argument("--configs", default="12x128,16x64", help="HEADSxDIM list")
    ap.add_argument("--dtypes", default="bf16,f16")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--csv")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (cpu)")
    a = ap.parse_args()
    dts = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}
    if a.device == "cpu":
        cpu_main(a, dts)
        return
    from torch.nn.attention import SDPBackend, sdpa_kernel
    if not torch.cuda.is_available():
        sys.exit("CUDA is not available")
    dev = torch.device("cuda")
    name = torch.cuda.get_device_name(0)
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
    write_csv(a.csv, rows)


def write_csv(path, rows):
    if path:
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()) if rows else ["device"])
            w.writeheader()
            w.writerows(rows)


def cpu_main(a, dts):
    if a.threads:
        torch.set_num_threads(a.threads)
    dtypes = "f32" if a.dtypes == "bf16,f16" else a.dtypes  # the GPU default makes no sense here
    fused = hasattr(F, "scaled_dot_product_attention")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    label = "sdpa" if fused else "math"
    rows = []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {label}")
    print(f"{'backend':8} {'dtype':5} {'N':>7} {'heads':>5} {'d':>4} {'ms':>9} {'TFLOP/s':>8}")
    for cfg in a.configs.split(","):
        h, d = map(int, cfg.split("x"))
        for dt in dtypes.split(","):
            for n in map(int, a.tokens.split(",")):
                need = 3 * n * n * h * torch.finfo(dts[dt]).bits // 8  # scores, softmax, temporaries
                if not fused and need > mem // 2:
                    print(f"{label:8} {dt:5} {n:7} {h:5} {d:4}   skipped: the math form needs ~{need / 2**30:.0f} GiB")
                    continue
                q, k, v = (torch.randn(1, h, n, d, dtype=dts[dt]) for _ in range(3))
                if fused:
                    fn = lambda: F.scaled_dot_product_attention(q, k, v)
                else:
                    fn = lambda: torch.matmul(torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * d ** -0.5, -1), v)
                ms = wall_median_ms(fn, a.reps)
                tf = 4.0 * n * n * d * h / (ms * 1e-3) / 1e12
                rows.append(dict(device="cpu", backend=label, dtype=dt, n=n, heads=h, head_dim=d, ms=ms, tflops=tf))
                print(f"{label:8} {dt:5} {n:7} {h:5} {d:4} {ms:9.1f} {tf:8.3f}", flush=True)
    write_csv(a.csv, rows)


if __name__ == "__main__":
    main()
