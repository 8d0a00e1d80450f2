// Load generator for the HTTP-library SSE benchmark: one epoll thread opens
// --idle keep-alive connections (one GET /health each, then silent) and
// --concurrency streaming connections (POST /stream, then GET /health on the
// same connection to check keep-alive), parses chunked SSE, and reports latency
// percentiles plus the server's threads, RSS and CPU from /proc/<pid>.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "sse_common.h"

namespace {

using sse_bench::now_ns;

// Minimal HTTP/1.1 response reader: headers, then Content-Length or chunked body.
struct ResponseReader {
  enum State { kHeaders, kLengthBody, kChunkSize, kChunkData, kChunkCrlf, kTrailer, kComplete };
  State state = kHeaders;
  std::string buf;
  int status = 0;
  size_t remaining = 0;
  std::string body;  // decoded body bytes not yet consumed by the caller

  void reset() { state = kHeaders; status = 0; remaining = 0; body.clear(); }

  // Returns false on a protocol error.
  bool feed(const char* data, size_t n) {
    buf.append(data, n);
    for (;;) {
      if (state == kHeaders) {
        size_t end = buf.find("\r\n\r\n");
        if (end == std::string::npos) return true;
        std::string head = buf.substr(0, end);
        buf.erase(0, end + 4);
        if (head.compare(0, 5, "HTTP/") != 0) return false;
        status = std::atoi(head.c_str() + 9);
        for (auto& c : head) c = static_cast<char>(std::tolower(c));
        if (head.find("transfer-encoding: chunked") != std::string::npos) {
          state = kChunkSize;
        } else {
          size_t cl = head.find("content-length:");
          remaining = cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 15, nullptr, 10);
          state = kLengthBody;
        }
      } else if (state == kLengthBody) {
        size_t take = std::min(remaining, buf.size());
        body.append(buf, 0, take);
        buf.erase(0, take);
        remaining -= take;
        if (remaining > 0) return true;
        state = kComplete;
      } else if (state == kChunkSize) {
        size_t end = buf.find("\r\n");
        if (end == std::string::npos) return true;
        remaining = std::strtoul(buf.c_str(), nullptr, 16);
        buf.erase(0, end + 2);
        state = remaining == 0 ? kTrailer : kChunkData;
      } else if (state == kChunkData) {
        size_t take = std::min(remaining, buf.size());
        body.append(buf, 0, take);
        buf.erase(0, take);
        remaining -= take;
        if (remaining > 0) return true;
        state = kChunkCrlf;
      } else if (state == kChunkCrlf) {
        if (buf.size() < 2) return true;
        buf.erase(0, 2);
        state = kChunkSize;
      } else if (state == kTrailer) {
        size_t end = buf.find("\r\n");
        if (end == std::string::npos) return true;
        buf.erase(0, end + 2);
        if (end == 0) state = kComplete;
      } else {
        return true;  // kComplete: caller resets before the next response
      }
    }
  }
};

enum class Phase { kConnecting, kHealth, kStream, kKeepAliveCheck, kHolding, kClosed };

struct Conn {
  int fd = -1;
  bool streaming = false;  // false: an idle keep-alive connection
  Phase phase = Phase::kConnecting;
  std::string out;
  ResponseReader reader;
  int64_t request_ns = 0;
  int64_t last_arrival_ns = 0;
  int events = 0;
  bool got_done = false;
  bool stream_ok = false;
  bool keepalive_ok = false;
  bool closed_by_server = false;
};

struct Samples {
  std::vector<double> lateness_ms, gap_ms, ttfe_ms;
};

const char kStreamRequest[] =
    "POST /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    "Accept: text/event-stream\r\nContent-Length: 15\r\n\r\n{\"stream\":true}";
const char kHealthRequest[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

struct ProcStats {
  long threads = -1, rss_kb = -1;
  double cpu_s = -1;
};
ProcStats read_proc(long pid) {
  ProcStats s;
  if (pid <= 0) return s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) s.threads = std::atol(line.c_str() + 8);
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::atol(line.c_str() + 6);
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t rp = all.rfind(')');
  if (rp != std::string::npos) {
    std::istringstream rest(all.substr(rp + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14, 15: utime, stime
      if (i == 14) utime = std::atol(field.c_str());
      if (i == 15) stime = std::atol(field.c_str());
    }
    s.cpu_s = static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
  }
  return s;
}

// TcpExt ListenOverflows from /proc/net/netstat (system-wide): connections the
// kernel dropped because a listen backlog was full.
long listen_overflows() {
  std::ifstream netstat("/proc/net/netstat");
  std::string names, values;
  while (std::getline(netstat, names) && std::getline(netstat, values)) {
    if (names.rfind("TcpExt:", 0) != 0) continue;
    std::istringstream n(names), v(values);
    std::string name, value;
    while (n >> name && v >> value) {
      if (name == "ListenOverflows") return std::atol(value.c_str());
    }
  }
  return -1;
}

class LoadGen {
 public:
  explicit LoadGen(int port) : port_(port) {
    epoll_ = epoll_create1(0);
  }

  void open(bool streaming) {
    auto c = std::make_unique<Conn>();
    c->streaming = streaming;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(c->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // EINPROGRESS
    c->out = streaming ? kStreamRequest : kHealthRequest;
    c->phase = streaming ? Phase::kStream : Phase::kHealth;
    c->request_ns = now_ns();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.ptr = c.get();
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c->fd, &ev);
    conns_.push_back(std::move(c));
  }

  // Runs until done() or the deadline; samples server stats every ~100 ms.
  template <typename DoneFn>
  void run_until(int64_t deadline_ns, long pid, DoneFn done) {
    std::vector<epoll_event> events(1024);
    int64_t next_sample = 0;
    while (now_ns() < deadline_ns && !done()) {
      int n = epoll_wait(epoll_, events.data(), events.size(), 10);
      for (int i = 0; i < n; ++i) handle(static_cast<Conn*>(events[i].data.ptr), events[i].events);
      if (now_ns() >= next_sample) {
        ProcStats s = read_proc(pid);
        max_threads_ = std::max(max_threads_, s.threads);
        max_rss_kb_ = std::max(max_rss_kb_, s.rss_kb);
        next_sample = now_ns() + 100000000LL;
      }
    }
  }

  int count(bool streaming, bool (*pred)(const Conn&)) const {
    int n = 0;
    for (const auto& c : conns_) n += (c->streaming == streaming && pred(*c)) ? 1 : 0;
    return n;
  }
  Samples& samples() { return samples_; }
  long max_threads() const { return max_threads_; }
  long max_rss_kb() const { return max_rss_kb_; }

 private:
  void handle(Conn* c, uint32_t ev) {
    if (c->phase == Phase::kClosed) return;
    if ((ev & EPOLLOUT) && !c->out.empty()) {
      ssize_t w = send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
      if (w > 0) c->out.erase(0, w);
      if (c->out.empty()) set_events(c, EPOLLIN | EPOLLRDHUP);
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      char buf[16384];
      for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r > 0) {
          const int64_t arrival = now_ns();
          if (!c->reader.feed(buf, r)) return close(c, false);
          consume(c, arrival);
          if (c->phase == Phase::kClosed) return;
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) close(c, true);
        return;
      }
    }
  }

  void consume(Conn* c, int64_t arrival) {
    if (c->phase == Phase::kStream) {
      std::string& body = c->reader.body;
      size_t end;
      while ((end = body.find("\n\n")) != std::string::npos) {
        std::string event = body.substr(0, end);
        body.erase(0, end + 2);
        on_event(c, event, arrival);
      }
    }
    if (c->reader.state != ResponseReader::kComplete) return;
    const int status = c->reader.status;
    c->reader.reset();
    if (c->phase == Phase::kStream) {
      c->stream_ok = status == 200 && c->got_done;
      c->phase = Phase::kKeepAliveCheck;
      c->out = kHealthRequest;  // reuse the connection: keep-alive must work
      set_events(c, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
    } else {
      if (c->phase == Phase::kKeepAliveCheck) c->keepalive_ok = status == 200;
      c->phase = Phase::kHolding;  // stay open, silent, until the run ends
    }
  }

  void on_event(Conn* c, const std::string& event, int64_t arrival) {
    if (event.find("[DONE]") != std::string::npos) {
      c->got_done = true;
      return;
    }
    const char* tp = std::strstr(event.c_str(), "\"t\": ");
    if (!tp) return;
    const int64_t t = std::atoll(tp + 5);
    if (c->events == 0) {
      samples_.ttfe_ms.push_back((arrival - c->request_ns) / 1e6);
    } else {
      samples_.gap_ms.push_back((arrival - c->last_arrival_ns) / 1e6);
    }
    // t is the engine's scheduled time of this event: arrival - t = lateness.
    samples_.lateness_ms.push_back((arrival - t) / 1e6);
    c->last_arrival_ns = arrival;
    c->events++;
  }

  void set_events(Conn* c, uint32_t mask) {
    epoll_event ev{};
    ev.events = mask;
    ev.data.ptr = c;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  void close(Conn* c, bool by_server) {
    c->closed_by_server = by_server;
    c->phase = Phase::kClosed;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
  }

  int port_;
  int epoll_;
  std::vector<std::unique_ptr<Conn>> conns_;
  Samples samples_;
  long max_threads_ = -1, max_rss_kb_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace sse_bench;
  const int port = flag_int(argc, argv, "port", 18080);
  const int concurrency = flag_int(argc, argv, "concurrency", 1);
  const int idle = flag_int(argc, argv, "idle", 0);
  const int expected_events = flag_int(argc, argv, "events", 100);
  const double duration_s = std::atof(flag(argc, argv, "duration_s", "10").c_str());
  const long pid = flag_int(argc, argv, "server_pid", 0);
  const std::string label = flag(argc, argv, "label", "run");

  LoadGen gen(port);
  const int64_t start = now_ns();
  const int64_t deadline = start + static_cast<int64_t>(duration_s * 1e9);
  // Idle keep-alive connections first; give them up to 1 s to get their answer.
  for (int i = 0; i < idle; ++i) gen.open(false);
  auto idle_answered = [&] {
    return gen.count(false, [](const Conn& c) { return c.phase == Phase::kHolding; });
  };
  gen.run_until(std::min(deadline, static_cast<int64_t>(now_ns() + 1000000000LL)), pid, [&] { return idle_answered() == idle; });
  const int idle_answered_before = idle_answered();

  const ProcStats before = read_proc(pid);
  const long overflows_before = listen_overflows();
  const int64_t streams_start = now_ns();
  for (int i = 0; i < concurrency; ++i) gen.open(true);
  auto finished = [](const Conn& c) {
    return c.phase == Phase::kHolding || c.phase == Phase::kClosed;
  };
  gen.run_until(deadline, pid, [&] { return gen.count(true, finished) == concurrency; });
  const double wall_s = (now_ns() - streams_start) / 1e9;
  const ProcStats after = read_proc(pid);
  const long overflows = listen_overflows() - overflows_before;

  const int completed = gen.count(true, [](const Conn& c) { return c.stream_ok; });
  const int keepalive_ok = gen.count(true, [](const Conn& c) { return c.keepalive_ok; });
  const int idle_open = gen.count(false, [](const Conn& c) { return c.phase == Phase::kHolding; });
  Samples& s = gen.samples();
  const size_t total_events = s.lateness_ms.size();
  std::printf(
      "{\"label\": \"%s\", \"concurrency\": %d, \"idle\": %d, \"idle_answered_1s\": %d, "
      "\"idle_open_at_end\": %d, \"completed\": %d, \"keepalive_ok\": %d, \"events\": %zu, "
      "\"events_expected\": %d, \"wall_s\": %.2f, "
      "\"lateness_p50_ms\": %.3f, \"lateness_p99_ms\": %.3f, "
      "\"gap_p50_ms\": %.3f, \"gap_p99_ms\": %.3f, "
      "\"ttfe_p50_ms\": %.3f, \"ttfe_p99_ms\": %.3f, "
      "\"server_threads_max\": %ld, \"server_rss_max_mb\": %.1f, \"server_cpu_s\": %.2f, "
      "\"listen_overflows\": %ld}\n",
      label.c_str(), concurrency, idle, idle_answered_before, idle_open, completed, keepalive_ok,
      total_events, concurrency * expected_events, wall_s, percentile(s.lateness_ms, 0.5),
      percentile(s.lateness_ms, 0.99), percentile(s.gap_ms, 0.5), percentile(s.gap_ms, 0.99),
      percentile(s.ttfe_ms, 0.5), percentile(s.ttfe_ms, 0.99), gen.max_threads(),
      gen.max_rss_kb() / 1024.0, after.cpu_s - before.cpu_s, overflows);
  return 0;
}
