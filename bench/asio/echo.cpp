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
#include "child_protocol.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

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
    beastgo_child::print_listening(local.address().to_string(), local.port());
    beastgo_child::serve_child_commands();
    ioc.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
