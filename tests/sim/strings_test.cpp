// sim/strings.hpp: printf into a std::string of any length.
#include <gtest/gtest.h>

#include <string>

#include "sim/strings.hpp"

namespace codesim::sim {
namespace {

TEST(Strprintf, FormatsLikePrintf) {
  EXPECT_EQ(strprintf("%.2f ms, %d flows, %s", 3.879, 42, "adaptive"), "3.88 ms, 42 flows, adaptive");
  EXPECT_EQ(strprintf("%s", ""), "");
}

// Longer than any fixed buffer the helpers it replaced used (64-1024 B).
TEST(Strprintf, HasNoLengthLimit) {
  const std::string long_word(5000, 'x');
  const std::string s = strprintf("[%s]", long_word.c_str());
  ASSERT_EQ(s.size(), 5002u);
  EXPECT_EQ(s.front(), '[');
  EXPECT_EQ(s.back(), ']');
}

}  // namespace
}  // namespace codesim::sim
