#!/usr/bin/env python3
"""Sparse conv baselines on the input of `tessera bench sparse-conv` (issue 5).

Voxelised sphere shell: voxels whose centre lies within 2 voxels of the sphere
of radius 0.4 res centred in the res^3 grid, rows in (x, y, z) order, f16
features, k = 3 submanifold, Cin = Cout = C, no bias, neighbour map built once
and reused. TFLOP/s = 2 active_pairs Cin Cout / time.

  torch:    gather-GEMM-scatter per kernel offset (per-offset pair lists built
            once with the map; then out.index_add_(0, i_v, feats[j_v] @ W_v^T))
  flexgemm: flex_gemm.ops.spconv.sparse_submanifold_conv3d with its default
            algorithm (masked implicit GEMM, split-K), neighbour cache reused;
            only when `import flex_gemm` works (e.g. PYTHONPATH to a build).

Usage: python3 bench/sparse_conv_torch.py [--configs 256x128,512x64,512x128,1024x64] [--device cuda|cpu] [--csv FILE]
"""
import argparse
import csv
import sys

import torch
from torch_timing import cuda_median_ms, wall_median_ms


def shell_coords(res, device):
    c, r = res / 2, 0.4 * res
    out = []
    ax = torch.arange(res, device=device, dtype=torch.float32) + 0.5 - c
    for x in range(res):  # one slab per x keeps memory at res^2
        d = torch.sqrt(ax[x] ** 2 + ax[:, None] ** 2 + ax[None, :] ** 2)
        yz = torch.nonzero((d - r).abs() <= 2).int()
        out.append(torch.cat([torch.zeros_like(yz[:, :1]), torch.full_like(yz[:, :1], x), yz], 1))
    return torch.cat(out, 0).contiguous()


def neighbour_map(coords, res):
    """[N, 27] i32 (offset v = a*9 + b*3 + c along x, y, z; -1 = none) via sorted keys + searchsorted."""
    xyz = coords[:, 1:].long()
    key = (xyz[:, 0] * res + xyz[:, 1]) * res + xyz[:, 2]  # coords are already in key order
    nbr = torch.full((coords.shape[0], 27), -1, dtype=torch.int32, device=coords.device)
    v = 0
    for a in (-1, 0, 1):
        for b in (-1, 0, 1):
            for cc in (-1, 0, 1):
                q = xyz + torch.tensor([a, b, cc], device=coords.device)
                ok = ((q >= 0) & (q < res)).all(1)
                qk = (q[:, 0] * res + q[:, 1]) * res + q[:, 2]
                p = torch.searchsorted(key, qk).clamp_max(key.numel() - 1)
                hit = ok & (key[p] == qk)
                nbr[:, v] = torch.where(hit, p.int(), torch.full_like(p, -1).int())
                v += 1
    return nbr


DEV = "cuda"


def bench(fn, warm_s=1.0, samples=7):
    if not torch.cuda.is_available() or DEV == "cpu":  # wall clock on the CPU
        return wall_median_ms(fn, samples)
    return cuda_median_ms(fn, samples, warm_s=warm_s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="256x128,512x64,512x128,1024x64")
    ap.add_argument("--csv")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--device", default="cuda", help="cuda (f16, as the GPU table) or cpu (f32: the CPU table)")
    args = ap.parse_args()
    global DEV
    DEV = dev = args.device
    dt = torch.float16 if dev == "cuda" else torch.float32
    if dev == "cpu":
        import os
        torch.set_num_threads(os.cpu_count() or 1)  # Debian's build may start with 1
    if dev == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
    try:
        import flex_gemm
        from flex_gemm.ops.spconv import sparse_submanifold_conv3d
        have_fg = True
    except Exception as e:  # noqa: BLE001
        print(f"flexgemm: not importable ({e!r})", file=sys.stderr)
        have_fg = False
    rows = []
    print(f"{'impl':10} {'res':>5} {'C':>5} {'voxels':>9} {'pairs':>10} {'ms':>9} {'TFLOP/s':>8} {'nbr_ms':>8} {'rel_err':>9}")
    for cfg in args.configs.split(","):
        res, C = (int(t) for t in cfg.split("x"))
        torch.manual_seed(res + C)
        coords = shell_coords(res, dev)
        N = coords.shape[0]
        if dev == "cuda":
            torch.cuda.synchronize()
        nbr_ms = bench(lambda: neighbour_map(coords, res), warm_s=0.0, samples=3)
        nbr = neighbour_map(coords, res)
        pairs = int((nbr >= 0).sum())
        flop = 2.0 * pairs * C * C
        feats = (torch.rand(N, C, device=dev) * 2 - 1).to(dt)
        weight = ((torch.rand(C, 3, 3, 3, C, device=dev) * 2 - 1) / (27 * C) ** 0.5).to(dt)
        ref = None
        if not args.skip_torch:
            lists = []
            for v in range(27):
                i = torch.nonzero(nbr[:, v] >= 0).squeeze(1)
                lists.append((i, nbr[i, v].long()))
            wv = [weight[:, v // 9, (v // 3) % 3, v % 3, :].contiguous() for v in range(27)]

            def gs():
                out = torch.zeros(N, C, device=dev, dtype=dt)
                for v in range(27):
                    i, j = lists[v]
                    out.index_add_(0, i, feats[j] @ wv[v].t())
                return out

            ref = gs()
            ms = bench(gs)
            rows.append(("torch_gs", res, C, N, pairs, ms, flop / ms / 1e9, nbr_ms, 0.0))
            print(f"{'torch_gs':10} {res:5} {C:5} {N:9} {pairs:10} {ms:9.3f} {flop / ms / 1e9:8.2f} {nbr_ms:8.2f} {0.0:9.2g}", flush=True)
            del lists
        if have_fg and dev == "cuda":
            shape = torch.Size([1, C, res, res, res])
            out, cache = sparse_submanifold_conv3d(feats, coords, shape, weight, None)
            torch.cuda.synchronize()
            fg_nbr_ms = bench(lambda: sparse_submanifold_conv3d(feats, coords, shape, weight, None), warm_s=0.0, samples=3)
            ms = bench(lambda: sparse_submanifold_conv3d(feats, coords, shape, weight, None, cache))
            err = 0.0
            if ref is not None:
                err = float((out.float() - ref.float()).norm() / ref.float().norm())
            rows.append(("flexgemm", res, C, N, pairs, ms, flop / ms / 1e9, fg_nbr_ms - ms, err))
            print(f"{'flexgemm':10} {res:5} {C:5} {N:9} {pairs:10} {ms:9.3f} {flop / ms / 1e9:8.2f} {fg_nbr_ms - ms:8.2f} {err:9.2g}", flush=True)
        del feats, nbr
        if dev == "cuda":
            torch.cuda.empty_cache()
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["impl", "res", "channels", "voxels", "active_pairs", "median_ms", "tflops", "nbr_ms", "rel_err_vs_torch"])
            w.writerows(rows)


if __name__ == "__main__":
    main()
