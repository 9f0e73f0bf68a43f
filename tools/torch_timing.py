"""Device time of GPU calls by the method of kerntune's PyTorch benchmarks (tools/bench_torch_ops.py,
tools/bench_reductions.py): CUDA events around one call, L2 flushed (a 2 x L2 buffer zeroed)
before every sample, a spin kernel queued first so that the host's launch cost is not timed, the
contenders interleaved sample by sample after one warm-up call each (which loads kernels)."""
import statistics

import torch


def device_times(contenders, x, samples):
    """{name: {"mean_us", "median_us"}} of calling each contender on x."""
    flush = torch.empty(2 * torch.cuda.get_device_properties(x.device).L2_cache_size, dtype=torch.uint8,
                        device=x.device)
    times = {name: [] for name in contenders}
    for function in contenders.values():
        function(x)
    torch.cuda.synchronize()
    for _ in range(samples):
        for name, function in contenders.items():
            flush.zero_()
            torch.cuda._sleep(50000)
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            function(x)
            stop.record()
            stop.synchronize()
            times[name].append(start.elapsed_time(stop) * 1000)
    return {name: {"mean_us": statistics.mean(t), "median_us": statistics.median(t)} for name, t in times.items()}
