#!/usr/bin/env python3
"""PyTorch GEMM reference numbers for Tessera's GEMM benchmarks.

GPU (default, --device cuda):
  * square M=N=K=4096, C = A @ B, for f16, bf16, f32 with TF32 disabled and
    f32 with TF32 allowed (reported as its own row, dtype "f32+tf32");
  * transformer linear shapes, y = x @ W^T (x: [tokens, in], W: [out, in],
    the nn.Linear layout), tokens=8192: 1536->1536, 1536->6144, 6144->1536,
    1024->4096, in f16 (--linear-dtypes to change).
CPU (--device cpu): square 512, 1024, 2048 in f32 plus the same linear
  layouts at tokens=1024 with in/out scaled down, to compare with Tessera's
  CPU backend.

Method: random normal inputs (never zeros), 3 input sets rotated between
reps, output preallocated, warm-up, then >=20 timed reps (CUDA events on the
GPU, each rep its own event pair, all enqueued before one synchronize;
perf_counter on the CPU); the median is reported.  TFLOP/s = 2*M*N*K / t.

  python3 bench/torch_gemm.py [--csv out.csv] [--device cuda|cpu] [--reps 30]
  rel_err: ||C - C_f64|| / ||C_f64|| of the last timed result vs a float64
  matmul of the same inputs (skip with --no-check).
"""
import argparse
import csv
import statistics
import sys
import time

import torch

DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32,
          "f64": torch.float64}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default=None, choices=["cuda", "cpu"],
                   help="default: cuda if available, else cpu")
    p.add_argument("--csv", default=None, help="write results as CSV here")
    p.add_argument("--reps", type=int, default=30, help="timed reps (>=20)")
    p.add_argument("--warmup", type=int, default=10, help="untimed reps")
    p.add_argument("--min-warmup-s", type=float, default=None,
                   help="keep warming up at least this long (clocks ramp); "
                        "default 0.3 on cuda, 0 on cpu")
    p.add_argument("--sizes", default=None,
                   help="comma list of square sizes (default cuda: 4096; cpu: 512,1024,2048)")
    p.add_argument("--dtypes", default=None,
                   help="square dtypes, comma list of f16,bf16,f32,f32+tf32 "
                        "(default cuda: f16,bf16,f32,f32+tf32; cpu: f32)")
    p.add_argument("--tokens", type=int, default=None,
                   help="rows of the linear shapes (default cuda 8192, cpu 1024)")
    p.add_argument("--linear-dtypes", default=None,
                   help="dtypes for linear shapes (default cuda: f16; cpu: f32); 'none' skips them")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (cpu)")
    p.add_argument("--no-check", dest="check", action="store_false",
                   help="skip the float64 check of the last result (rel_err column; "
                        "it also shows whether TF32 was really on: ~1e-7 vs ~1e-4)")
    a = p.parse_args()
    if a.reps < 20:
        p.error("--reps must be >= 20")
    return a


def set_tf32(on):
    """Allow/forbid TF32 for fp32 matmul; returns the API used.
    torch >= 2.9 has torch.backends.cuda.matmul.fp32_precision ('tf32'/'ieee')
    and deprecates allow_tf32; mixing both APIs can warn or raise."""
    m = torch.backends.cuda.matmul
    if hasattr(m, "fp32_precision"):
        m.fp32_precision = "tf32" if on else "ieee"
        return "fp32_precision"
    m.allow_tf32 = on
    return "allow_tf32"


class Timer:
    """Per-rep timing: CUDA events (GPU) or perf_counter (CPU)."""

    def __init__(self, dev):
        self.dev = dev

    def run(self, fn, reps):
        if self.dev.type == "cuda":
            starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
            ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
            torch.cuda.synchronize()
            for i in range(reps):
                starts[i].record()
                fn(i)
                ends[i].record()
            torch.cuda.synchronize()
            return [s.elapsed_time(e) / 1e3 for s, e in zip(starts, ends)]
        out = []
        for i in range(reps):
            t0 = time.perf_counter()
            fn(i)
            out.append(time.perf_counter() - t0)
        return out


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def bench_case(dev, timer, args, name, dtype_name, M, N, K, linear):
    """linear=False: C[M,N] = A[M,K] @ B[K,N].  linear=True: y = x @ W^T."""
    tf32 = dtype_name == "f32+tf32"
    dt = DTYPES["f32" if tf32 else dtype_name]
    if dev.type == "cuda":
        set_tf32(tf32)
    g = torch.Generator(device=dev).manual_seed(1234 + M + 7 * N + 13 * K)
    sets = []
    for _ in range(3):
        a = torch.randn(M, K, device=dev, dtype=dt, generator=g)
        b = (torch.randn(N, K, device=dev, dtype=dt, generator=g) if linear
             else torch.randn(K, N, device=dev, dtype=dt, generator=g))
        sets.append((a, b.t() if linear else b))  # W^T is a view: cuBLAS "NT"
    c = torch.empty(M, N, device=dev, dtype=dt)

    def fn(i):
        a, b = sets[i % 3]
        torch.matmul(a, b, out=c)

    # Warm-up: a fixed count, then until min_warmup_s has passed.
    for i in range(args.warmup):
        fn(i)
    sync(dev)
    t0 = time.perf_counter()
    i = 0
    while time.perf_counter() - t0 < args.min_warmup_s:
        fn(i)
        i += 1
        if i % 8 == 0:
            sync(dev)
    sync(dev)

    times = timer.run(fn, args.reps)
    if not torch.isfinite(c).all():
        print(f"WARNING {name} {dtype_name}: non-finite output", file=sys.stderr)
    err = ""
    if args.check:
        a, b = sets[(args.reps - 1) % 3]
        ref = a.double() @ b.double()
        rel = ((c.double() - ref).norm() / ref.norm()).item()
        err = f"{rel:.2e}"
    med = statistics.median(times)
    best = min(times)
    flop = 2.0 * M * N * K
    del sets, c
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return {
        "device": dev.type, "name": name, "op": "linear_nt" if linear else "matmul_nn",
        "dtype": dtype_name, "tf32": int(tf32), "M": M, "N": N, "K": K,
        "reps": args.reps, "median_ms": med * 1e3, "min_ms": best * 1e3,
        "tflops_median": flop / med / 1e12, "tflops_best": flop / best / 1e12,
        "rel_err": err,
    }


def main():
    args = parse_args()
    want = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if want == "cuda" and not torch.cuda.is_available():
        sys.exit("torch reports no CUDA device; use --device cpu")
    dev = torch.device(want)
    gpu = dev.type == "cuda"
    if args.min_warmup_s is None:
        args.min_warmup_s = 0.3 if gpu else 0.0
    if args.threads:
        torch.set_num_threads(args.threads)

    sizes = [int(s) for s in (args.sizes or ("4096" if gpu else "512,1024,2048")).split(",")]
    sq_dtypes = (args.dtypes or ("f16,bf16,f32,f32+tf32" if gpu else "f32")).split(",")
    tokens = args.tokens or (8192 if gpu else 1024)
    lin_dtypes = (args.linear_dtypes or ("f16" if gpu else "f32"))
    lin_dtypes = [] if lin_dtypes == "none" else lin_dtypes.split(",")
    # (name, in_features, out_features)
    lin_shapes = [("qkv_o", 1536, 1536), ("mlp_up", 1536, 6144),
                  ("mlp_down", 6144, 1536), ("ffn_1k", 1024, 4096)]
    if not gpu:
        lin_shapes = [("qkv_o", 512, 512), ("mlp_up", 512, 2048),
                      ("mlp_down", 2048, 512), ("ffn_1k", 1024, 4096)]

    for d in sq_dtypes + lin_dtypes:
        if d not in DTYPES and d != "f32+tf32":
            sys.exit(f"unknown dtype {d}")

    if gpu:
        p = torch.cuda.get_device_properties(dev)
        info = (f"{p.name}, {p.multi_processor_count} SMs, torch {torch.__version__}, "
                f"CUDA {torch.version.cuda}, TF32 via {set_tf32(False)}")
    else:
        info = f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}"
    print(f"# torch GEMM reference on {info}; reps={args.reps} (median), warmup={args.warmup}", flush=True)

    timer = Timer(dev)
    cases = []
    for n in sizes:
        for d in sq_dtypes:
            cases.append((f"square{n}", d, n, n, n, False))
    for d in lin_dtypes:
        for nm, kin, nout in lin_shapes:
            cases.append((f"{nm}_{tokens}x{kin}->{nout}", d, tokens, nout, kin, True))

    hdr = f"{'name':<26} {'op':<9} {'dtype':<9} {'M':>6} {'N':>6} {'K':>6} {'median_ms':>10} {'min_ms':>9} {'TFLOP/s':>8} {'best':>8}"
    if args.check:
        hdr += f" {'rel_err':>9}"
    print(hdr)
    print("-" * len(hdr))
    rows = []
    t_all = time.perf_counter()
    for name, d, M, N, K, lin in cases:
        r = bench_case(dev, timer, args, name, d, M, N, K, lin)
        rows.append(r)
        tf = ".2f" if gpu else ".4f"
        line = (f"{r['name']:<26} {r['op']:<9} {r['dtype']:<9} {M:>6} {N:>6} {K:>6} "
                f"{r['median_ms']:>10.4f} {r['min_ms']:>9.4f} {r['tflops_median']:>8{tf}} {r['tflops_best']:>8{tf}}")
        if args.check:
            line += f" {r['rel_err']:>9}"
        print(line, flush=True)
    if gpu:
        set_tf32(False)
    print(f"# {len(rows)} cases in {time.perf_counter() - t_all:.1f} s; TFLOP/s = 2*M*N*K / median time")

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            for r in rows:
                w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
        print(f"# wrote {args.csv}")


if __name__ == "__main__":
    main()
