// ConnectTcp: a blocking TCP connection to host:port (IPv4 or IPv6, each resolved address tried in
// turn) for the soak's probes and its disconnect proxy.
#pragma once

#include <string>

namespace attnserve::bench {

// A connected socket (SOCK_CLOEXEC) to `host`:`port`; -1 when none of the addresses accepts.
// The caller owns (closes) the descriptor.
int ConnectTcp(const std::string& host, const std::string& port);

}  // namespace attnserve::bench
