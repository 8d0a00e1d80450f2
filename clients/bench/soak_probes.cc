// Soak probes (see soak_probes.h): /proc parsing, a blocking HTTP/1.0 GET, Prometheus text sums.
#include "clients/bench/soak_probes.h"

#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "clients/bench/tcp_connect.h"

namespace attnserve::bench {
namespace {

// Socket inodes listening on `port` in one /proc/net/tcp-format table.
void ListeningInodes(const std::string& table, int port, std::set<std::string>* inodes) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    if (state != "0A") continue;  // TCP_LISTEN
    const size_t colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    if (std::strtol(local.c_str() + colon + 1, nullptr, 16) == port) inodes->insert(inode);
  }
}

}  // namespace

std::optional<uint64_t> ResidentBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmRSS:")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, "kB");
    uint64_t kib = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kib)) return std::nullopt;
    return kib * 1024;
  }
  return std::nullopt;
}

std::optional<pid_t> ListeningPid(int port) {
  std::set<std::string> inodes;
  ListeningInodes("/proc/net/tcp", port, &inodes);
  ListeningInodes("/proc/net/tcp6", port, &inodes);
  inodes.erase("0");
  if (inodes.empty()) return std::nullopt;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return std::nullopt;
  std::optional<pid_t> found;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    const std::string fd_dir = "/proc/" + std::string(entry->d_name) + "/fd";
    DIR* fds = opendir(fd_dir.c_str());
    if (fds == nullptr) continue;  // gone, or not ours to read
    while (dirent* fd = readdir(fds)) {
      char target[64];
      const std::string link = fd_dir + "/" + fd->d_name;
      const ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      absl::string_view t(target);
      if (absl::ConsumePrefix(&t, "socket:[") && absl::ConsumeSuffix(&t, "]") &&
          inodes.count(std::string(t)) > 0) {
        found = pid;
        break;
      }
    }
    closedir(fds);
    if (found) break;
  }
  closedir(proc);
  return found;
}

int PortOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) return 0;
  return port;
}

std::optional<std::string> HttpGetBody(const std::string& address, const std::string& path) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const int fd = ConnectTcp(host, address.substr(colon + 1));
  if (fd < 0) return std::nullopt;
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return std::nullopt;
  }
  std::string response;
  char buffer[16 * 1024];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, static_cast<size_t>(n));
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (n < 0 || body == std::string::npos || response.compare(0, 12, "HTTP/1.1 200") != 0 &&
                                                response.compare(0, 12, "HTTP/1.0 200") != 0) {
    return std::nullopt;
  }
  return response.substr(body + 4);
}

std::optional<double> SumMetric(const std::string& exposition, const std::string& name,
                                const std::string& label_filter) {
  std::vector<std::string> wanted;
  if (!label_filter.empty()) wanted = absl::StrSplit(label_filter, ',');
  std::optional<double> sum;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (line.empty() || line[0] == '#' || !absl::ConsumePrefix(&line, name)) continue;
    absl::string_view labels;
    if (absl::ConsumePrefix(&line, "{")) {
      const size_t close = line.find('}');
      if (close == absl::string_view::npos) continue;
      labels = line.substr(0, close);
      line.remove_prefix(close + 1);
    }
    if (!absl::ConsumePrefix(&line, " ")) continue;  // a longer name sharing the prefix
    bool match = true;
    for (const std::string& pair : wanted) {
      const std::vector<absl::string_view> present = absl::StrSplit(labels, ',');
      bool has = false;
      for (absl::string_view p : present) has = has || p == pair;
      match = match && has;
    }
    double value = 0;
    const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    if (!match || parts.empty() || !absl::SimpleAtod(parts[0], &value)) continue;
    sum = sum.value_or(0) + value;
  }
  return sum;
}

}  // namespace attnserve::bench
