// Clock warm-up before timing on a hardware GPU: an idle GPU drops its clocks
// (the H100 idles at 345 MHz), and the host work before a measurement (input
// generation, the float64 reference) leaves it idle long enough, so a few
// short timed samples would measure the ramp back up instead of the kernel.
// Runs `fn` (synchronized) for ~`seconds`; nothing on CPU / software devices.
#pragma once
#include <chrono>

#include "core/device.hpp"

namespace tessera::bench {

template <typename F>
void warm_up(Device& dev, F&& fn, double seconds = 1.0, int max_runs = 500) {
  if (dev.backend() == "cpu" || dev.info().software) return;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < max_runs && std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds;
       ++i) {
    fn();
    dev.synchronize();
  }
}

}  // namespace tessera::bench
