// Test entry point: prints the devices under test, then registers one parity
// test per (op, device, case) from the registry itself, so a new op or
// backend is covered without editing this file.
#include <gtest/gtest.h>

#include <cstdio>

#include "core/op_registry.hpp"
#include "ops/parity.hpp"
#include "tests/test_env.hpp"

using namespace tessera;

namespace {

class ParityTest : public ::testing::Test {
 public:
  ParityTest(Device* dev, std::string op, TestCase c) : dev_(dev), op_(std::move(op)), c_(std::move(c)) {}
  void TestBody() override {
    const OpDef& def = OpRegistry::get().op(op_);
    uint64_t seed = parity_seed(op_, c_.label, test::base_seed());
    ParityResult r = run_parity_case(*dev_, def, c_, seed);
    if (!r.supported) GTEST_SKIP() << dev_->id() << " declines: " << r.message;
    EXPECT_TRUE(r.passed) << op_ << " " << c_.label << " on " << dev_->id() << " (" << dev_->info().name
                          << ") seed=" << seed << ": " << r.message;
    std::printf("  %-8s %-28s %-10s %s  %.3f ms\n", op_.c_str(), c_.label.c_str(), dev_->id().c_str(),
                r.message.c_str(), r.seconds * 1e3);
  }

 private:
  Device* dev_;
  std::string op_;
  TestCase c_;
};

std::string sanitize(std::string s) {
  for (auto& ch : s)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

void register_parity_tests() {
  auto& reg = OpRegistry::get();
  for (Device* dev : test::test_devices()) {
    for (auto& op : reg.op_names()) {
      if (!reg.has_kernel(op, dev->backend())) continue;
      for (auto& c : reg.op(op).cases()) {
        if (c.scale != test::scale_enabled()) continue;
        std::string suite = std::string(c.scale ? "ParityScale_" : "Parity_") + dev->backend() +
                            std::to_string(dev->index());
        ::testing::RegisterTest(suite.c_str(), sanitize(op + "_" + c.label).c_str(), nullptr, nullptr, __FILE__,
                                __LINE__, [=]() -> ::testing::Test* { return new ParityTest(dev, op, c); });
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::printf("Tessera test devices (TESSERA_TEST_BACKENDS=%s):\n",
              std::getenv("TESSERA_TEST_BACKENDS") ? std::getenv("TESSERA_TEST_BACKENDS") : "<all>");
  for (auto& name : test::requested_backends()) {
    auto* b = BackendRegistry::get().find(name);
    if (!b) {
      std::printf("  %s: not compiled in\n", name.c_str());
      continue;
    }
    auto devs = b->devices();
    if (devs.empty()) std::printf("  %s: NO DEVICE (%s)\n", name.c_str(), b->unavailable_reason().c_str());
    for (auto* d : devs)
      std::printf("  %s = %s [%s; %s]\n", d->id().c_str(), d->info().name.c_str(), d->info().driver.c_str(),
                  d->info().api.c_str());
  }
  register_parity_tests();
  return RUN_ALL_TESTS();
}
