// StopStringMatcher: stop strings across piece boundaries never leak; partial matches held back.
#include "engine/output/stop_string_matcher.h"

#include <gtest/gtest.h>

namespace attnserve {
namespace {

TEST(StopStringMatcherTest, HoldsBackPossiblePrefixAndStopsAcrossPieces) {
  StopStringMatcher m({"world"});
  auto r1 = m.Push("Hello wo");
  EXPECT_EQ(r1.text, "Hello ");
  EXPECT_FALSE(r1.stop);
  auto r2 = m.Push("rld!");
  EXPECT_EQ(r2.text, "");
  ASSERT_TRUE(r2.stop);
  EXPECT_EQ(*r2.stop, "world");
}

TEST(StopStringMatcherTest, ReleasesHeldTextWhenItCannotMatch) {
  StopStringMatcher m({"world"});
  EXPECT_EQ(m.Push("Hello wo").text, "Hello ");
  auto r = m.Push("ndrous");
  EXPECT_EQ(r.text, "wondrous");
  EXPECT_FALSE(r.stop);
  EXPECT_EQ(m.Push("w").text, "");
  EXPECT_EQ(m.Flush(), "w");
}

TEST(StopStringMatcherTest, EarliestOfSeveralStopsWins) {
  StopStringMatcher m({"cd", "b"});
  auto r = m.Push("abcd");
  EXPECT_EQ(r.text, "a");
  EXPECT_EQ(*r.stop, "b");
}

TEST(StopStringMatcherTest, StopInsideOnePieceTruncates) {
  StopStringMatcher m({"\n\n"});
  auto r = m.Push("line one\n\nline two");
  EXPECT_EQ(r.text, "line one");
  EXPECT_EQ(*r.stop, "\n\n");
}

TEST(StopStringMatcherTest, NoStopsPassesThrough) {
  StopStringMatcher m({});
  EXPECT_EQ(m.Push("anything").text, "anything");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopStringMatcherTest, MultiByteStopString) {
  StopStringMatcher m({"日本"});
  EXPECT_EQ(m.Push("こんにちは日").text, "こんにちは");
  auto r = m.Push("本語");
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(*r.stop, "日本");
}

}  // namespace
}  // namespace attnserve
