// StopStringMatcher: finds stop strings in streamed text that may span token boundaries, and
// holds back any tail that could still become a stop string, so a stop string never leaks
// into the output. Not thread-safe; one per sequence.
//
//   Push("Hello wo")  -> "Hello "   (holds "wo": could start stop "world")
//   Push("rld!")      -> stopped; emitted text ends before "world"
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attnserve {

class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stops);

  struct Result {
    std::string text;                  // safe to emit now
    std::optional<std::string> stop;   // set when a stop string matched (text ends before it)
  };
  // Appends newly decoded text.
  Result Push(std::string_view text);
  // Releases the held-back tail (when generation ends for another reason).
  std::string Flush();

 private:
  std::vector<std::string> stops_;
  std::string pending_;  // held back: a suffix that is a proper prefix of some stop string
};

}  // namespace attnserve
