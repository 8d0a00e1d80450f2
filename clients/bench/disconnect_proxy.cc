// DisconnectProxy (see disconnect_proxy.h): one relay thread, poll(2) on the two sockets and a
// wake-up pipe; every send also polls the pipe, so Drop() never waits on a full socket buffer.
#include "clients/bench/disconnect_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "clients/bench/tcp_connect.h"

namespace attnserve::bench {
namespace {

// Closes `fd` so that the peer gets a TCP RST (no orderly FIN).
void ResetAndClose(int fd) {
  if (fd < 0) return;
  linger reset{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close(fd);
}

// ConnectTcp with TCP_NODELAY (the relay forwards small frames as they come), or -1.
int ConnectTo(const std::string& host, const std::string& port) {
  const int fd = ConnectTcp(host, port);
  if (fd >= 0) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return fd;
}

// Writes all of [data, data + n) to `to`, giving up (false) on an error or when `wake` becomes
// readable (a drop was asked for).
bool SendAll(int to, const char* data, size_t n, int wake) {
  while (n > 0) {
    const ssize_t sent = send(to, data, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent > 0) {
      data += sent;
      n -= static_cast<size_t>(sent);
      continue;
    }
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    pollfd fds[2] = {{to, POLLOUT, 0}, {wake, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return false;
    if (fds[1].revents != 0) return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<DisconnectProxy> DisconnectProxy::Start(const std::string& upstream,
                                                        std::string* error) {
  const size_t colon = upstream.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == upstream.size()) {
    *error = "upstream must be host:port, got '" + upstream + "'";
    return nullptr;
  }
  auto proxy = std::unique_ptr<DisconnectProxy>(new DisconnectProxy());
  proxy->upstream_host_ = upstream.substr(0, colon);
  if (proxy->upstream_host_.size() > 2 && proxy->upstream_host_.front() == '[') {  // [::1]:port
    proxy->upstream_host_ = proxy->upstream_host_.substr(1, proxy->upstream_host_.size() - 2);
  }
  proxy->upstream_port_ = upstream.substr(colon + 1);
  proxy->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (proxy->listen_fd_ < 0 ||
      bind(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(proxy->listen_fd_, 1) != 0 ||
      getsockname(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      pipe2(proxy->wake_fds_, O_CLOEXEC) != 0) {
    *error = std::string("disconnect proxy: cannot listen on 127.0.0.1: ") + std::strerror(errno);
    return nullptr;  // the destructor closes what was opened
  }
  proxy->port_ = ntohs(addr.sin_port);
  proxy->thread_ = std::thread([p = proxy.get()] { p->Relay(); });
  return proxy;
}

DisconnectProxy::~DisconnectProxy() {
  Drop();
  if (listen_fd_ >= 0) close(listen_fd_);
  for (int fd : wake_fds_) {
    if (fd >= 0) close(fd);
  }
}

void DisconnectProxy::Drop() {
  if (!dropped_.exchange(true) && wake_fds_[1] >= 0) {
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = write(wake_fds_[1], &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
}

void DisconnectProxy::Relay() {
  const int wake = wake_fds_[0];
  pollfd wait_accept[2] = {{listen_fd_, POLLIN, 0}, {wake, POLLIN, 0}};
  while (poll(wait_accept, 2, -1) < 0 && errno == EINTR) {
  }
  if (wait_accept[1].revents != 0) return;
  const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  close(listen_fd_);  // one connection only: a reconnect after the drop is refused
  listen_fd_ = -1;
  if (client < 0) return;
  const int server = ConnectTo(upstream_host_, upstream_port_);
  if (server < 0) {
    ResetAndClose(client);
    return;
  }
  char buffer[64 * 1024];
  bool open = true;
  while (open) {
    pollfd fds[3] = {{client, POLLIN, 0}, {server, POLLIN, 0}, {wake, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) break;  // Drop()
    for (int side = 0; side < 2 && open; ++side) {
      if (fds[side].revents == 0) continue;
      const int from = side == 0 ? client : server;
      const int to = side == 0 ? server : client;
      const ssize_t got = recv(from, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        open = false;  // one side closed: close the other too
      } else if (got > 0 && !SendAll(to, buffer, static_cast<size_t>(got), wake)) {
        open = false;
      }
    }
  }
  ResetAndClose(client);
  ResetAndClose(server);
}

}  // namespace attnserve::bench
