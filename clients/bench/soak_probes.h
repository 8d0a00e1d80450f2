// Probes the soak reads the daemon with besides gRPC: its resident memory (VmRSS from
// /proc/<pid>/status), its pid from the TCP port it listens on (same host only), and its
// Prometheus /metrics text (plain HTTP/1.0 GET) with a sample-summing parser.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace attnserve::bench {

// VmRSS of `pid` in bytes; nullopt when the process is gone or /proc is unreadable.
std::optional<uint64_t> ResidentBytes(pid_t pid);

// The pid of the process holding a listening TCP socket on `port` (IPv4 or IPv6, any address),
// found through /proc/net/tcp{,6} and /proc/<pid>/fd. nullopt when none is visible (another host,
// another user's process, no /proc).
std::optional<pid_t> ListeningPid(int port);

// The port of "host:port" / "[v6]:port"; 0 when there is none.
int PortOf(const std::string& address);

// The body of GET http://<address><path> ("host:port"); nullopt when the connection or the
// request fails or the status is not 200.
std::optional<std::string> HttpGetBody(const std::string& address, const std::string& path);

// Sum of the samples of metric `name` (exact name, so `x_total` does not match `x_total_bucket`)
// whose label set contains every comma-separated `key="value"` of `label_filter` ("" = all).
// nullopt when no sample matches.
std::optional<double> SumMetric(const std::string& exposition, const std::string& name,
                                const std::string& label_filter = "");

}  // namespace attnserve::bench
