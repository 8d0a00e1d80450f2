// DisconnectProxy: a one-connection TCP relay between a client and the daemon, so the soak can
// make a client vanish mid-stream the way a crashed client or a dead network does — the daemon's
// socket is reset without any HTTP/2 RST_STREAM or GOAWAY (which would be a polite cancel).
//
//   client channel ──▶ 127.0.0.1:<proxy port> ══ relay thread ══▶ upstream (the daemon)
//   Drop(): both sockets closed with SO_LINGER {1, 0} → TCP RST to both peers
//
// It accepts exactly one connection (the fresh channel's), then stops listening, so a channel
// that reconnects after the drop gets "connection refused" instead of a second relay.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace attnserve::bench {

class DisconnectProxy {
 public:
  // Listens on 127.0.0.1 (ephemeral port) and relays to `upstream` ("host:port"). Null with
  // *error set when the listening socket cannot be made or the address does not resolve.
  static std::unique_ptr<DisconnectProxy> Start(const std::string& upstream, std::string* error);
  ~DisconnectProxy();  // Drop() and join
  DisconnectProxy(const DisconnectProxy&) = delete;
  DisconnectProxy& operator=(const DisconnectProxy&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Resets both connections now (idempotent; returns once the relay thread has closed them).
  void Drop();

 private:
  DisconnectProxy() = default;
  void Relay();

  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // Drop() writes to [1]; the relay polls [0]
  int port_ = 0;
  std::string upstream_host_, upstream_port_;
  std::atomic<bool> dropped_{false};
  std::thread thread_;
};

}  // namespace attnserve::bench
