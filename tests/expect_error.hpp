// expect_error(fn, needles): fn must throw tessera::Error whose message
// contains every needle (tests of "bad input gets a clear error").
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>

#include "core/error.hpp"

namespace tessera::test {

inline void expect_error(const std::function<void()>& fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "no Error thrown (expected one mentioning '" << *needles.begin() << "')";
  } catch (const Error& e) {
    for (const auto& s : needles) EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what();
  }
}

inline void expect_error(const std::function<void()>& fn, const std::string& needle) {
  expect_error(fn, {needle});
}

}  // namespace tessera::test
