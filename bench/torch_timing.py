"""Median timings shared by the PyTorch reference scripts in bench/ (imported
as a sibling module: run the scripts as `python3 bench/<script>.py`)."""
import time

import torch


def cuda_median_ms(fn, reps, warm_calls=0, warm_s=0.0):
    """Median of `reps` CUDA-event timings of fn(), after `warm_calls` calls and
    then calls for `warm_s` seconds (each synchronised)."""
    for _ in range(warm_calls):
        fn()
    t0 = time.time()
    while time.time() - t0 < warm_s:
        fn()
        torch.cuda.synchronize()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    times.sort()
    return times[len(times) // 2]


def wall_median_ms(fn, reps, warm_calls=1):
    """Median wall-clock time of fn() on the CPU, after `warm_calls` calls."""
    for _ in range(warm_calls):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return times[len(times) // 2]
