// attnserve-bench --soak: the soak and fault test's flags (--soak_*) and command (soak.h).
//   attnserve-bench --soak --soak_duration_s=1800 --soak_streams=64 --soak_metrics_addr=localhost:9400
// Prints the human summary, then the report as one JSON line; --json also writes it to a file.
// Exit 0 when every check passed, 1 when one failed or the daemon is unreachable, 2 on bad flags.
#pragma once

#include <cstdint>
#include <string>

namespace attnserve::bench {

// Whether --soak was given.
bool SoakRequested();

// Runs the soak against `addr` with the --soak_* flags; `seed` seeds the request mix, `json_path`
// ("" = none) receives the report.
int RunSoakCommand(const std::string& addr, uint64_t seed, const std::string& json_path);

}  // namespace attnserve::bench
