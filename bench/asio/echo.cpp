// echo.cpp is the Asio side of the bench program's net-echo group: a TCP echo server on one
// thread, each connection a session that reads what is there into a 4 KiB buffer with
// async_read_some and writes it back whole with async_write, as Asio's async echo example does (its
// buffer made the size of the Go servers'). Usage:
//
//   echo ADDR:PORT       e.g. echo 127.0.0.1:0
//   echo version         print "asio NAME VERSION" and exit
//
// It speaks the bench program's server-child protocol (bench/wschild.go): it prints
// "listening ADDR:PORT" once it accepts connections, answers "stats" (and "gcstats") on its stdin
// with a JSON line of its CPU time from getrusage(2), "error ..." to anything else, and exits when
// its stdin closes.
#include "asio_select.hpp"

#include <sys/resource.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

namespace {

using tcp = net::ip::tcp;

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket s) : sock_(std::move(s)) {}
  void start() { read(); }

 private:
  void read() {
    sock_.async_read_some(net::buffer(buf_), [self = shared_from_this()](error_code ec, std::size_t n) {
      if (!ec) self->write(n);
    });
  }
  void write(std::size_t n) {
    net::async_write(sock_, net::buffer(buf_.data(), n), [self = shared_from_this()](error_code ec, std::size_t) {
      if (!ec) self->read();
    });
  }

  tcp::socket sock_;
  std::array<char, 4096> buf_;
};

void accept(tcp::acceptor& acc) {
  acc.async_accept([&acc](error_code ec, tcp::socket s) {
    if (!ec) std::make_shared<session>(std::move(s))->start();
    accept(acc);
  });
}

long long ns(const timeval& tv) { return (long long)tv.tv_sec * 1000000000LL + (long long)tv.tv_usec * 1000LL; }

// serve_commands answers the parent on stdin and stdout until stdin closes, then ends the process.
void serve_commands() {
  std::string line;
  while (std::getline(std::cin, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line == "stats" || line == "gcstats") {
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      std::printf("{\"user_ns\":%lld,\"sys_ns\":%lld,\"mallocs\":0,\"heap_inuse\":0,\"stack_inuse\":0,\"goroutines\":0}\n",
                  ns(ru.ru_utime), ns(ru.ru_stime));
    } else {
      std::printf("error unknown command \"%s\"\n", line.c_str());
    }
    std::fflush(stdout);
  }
  std::fflush(stdout);
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: echo ADDR:PORT | version\n");
    return 2;
  }
  std::string addr = argv[1];
  if (addr == "version") {
    print_asio_version();
    return 0;
  }
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "echo: bad address %s\n", argv[1]);
    return 2;
  }
  try {
    net::io_context ioc(1);
    tcp::endpoint ep(net::ip::make_address(addr.substr(0, colon)),
                     (unsigned short)std::atoi(addr.c_str() + colon + 1));
    tcp::acceptor acc(ioc, ep);
    accept(acc);
    auto local = acc.local_endpoint();
    std::printf("listening %s:%u\n", local.address().to_string().c_str(), (unsigned)local.port());
    std::fflush(stdout);
    std::thread(serve_commands).detach();
    ioc.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
