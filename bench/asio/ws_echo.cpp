// ws_echo.cpp is Boost.Beast's side of the bench program's websocket group: a WebSocket echo
// server written as Beast's asynchronous server example (websocket_server_async.cpp) writes one.
// A tcp::acceptor accepts each connection into a websocket::stream<beast::tcp_stream>, which
// async_accepts the upgrade and then loops: async_read of a whole message into a
// beast::flat_buffer, text(got_text()), async_write of the buffer's data, consume, read again.
// Every option is Beast's default except three: the timeouts are either the suggested server
// settings, as the example sets them (30 s handshake, 300 s idle with keep-alive pings at half of
// it), or none, as the bench program runs it by default so that it does what the other servers in
// the table do (bench/wsbeast.go); the message size limit is 16 MiB, as the Go servers' are; and
// each connection's socket has
// TCP_NODELAY, as Go's net package and beastgo give every TCP connection (the example leaves
// Nagle's algorithm on, and a message Beast writes as several frames, one per 4 KiB of its write
// buffer, then waits for the client's delayed ACK: some 40 ms a 64 KiB echo). No Server header
// decorator, no logging of a connection's end. Usage:
//
//   ws_echo ADDR:PORT [THREADS [suggested|none]]   e.g. ws_echo 127.0.0.1:0
//   ws_echo version                                 print "beast Boost.Beast/N Boost X.Y.Z" and exit
//
// THREADS (default 1) threads run the one io_context: with one, its concurrency hint is 1 and the
// handlers run on the context's executor; with more, each connection has a strand, as the example
// gives each. "none" leaves the stream's timeouts off (Beast's default when none are set).
//
// It speaks the bench program's server-child protocol (child_protocol.hpp) and runs until its
// stdin closes.
#if !__has_include(<boost/beast/websocket.hpp>)
#error "beastgo-beast-missing: <boost/beast/websocket.hpp> is not installed (libboost-dev)"
#endif

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/version.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "child_protocol.hpp"

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// maxMessage is the largest message a session reads: 16 MiB, the Go servers' limit.
constexpr std::size_t maxMessage = 16u << 20;

// echo_session is one connection: the stream and the buffer each message is read into, kept
// alive by the shared_ptr its pending operation's handler holds.
class echo_session : public std::enable_shared_from_this<echo_session> {
 public:
  echo_session(tcp::socket&& sock, bool timeouts) : ws_(std::move(sock)), timeouts_(timeouts) {}

  // start runs the session's first step on the stream's executor (the connection's strand when
  // there is one).
  void start() { asio::dispatch(ws_.get_executor(), beast::bind_front_handler(&echo_session::accept, shared_from_this())); }

 private:
  void accept() {
    if (timeouts_) ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(maxMessage);
    ws_.async_accept(beast::bind_front_handler(&echo_session::accepted, shared_from_this()));
  }

  void accepted(beast::error_code ec) {
    if (!ec) read();
  }

  void read() { ws_.async_read(buf_, beast::bind_front_handler(&echo_session::got, shared_from_this())); }

  // got echoes a message with the kind it came with. An error (the client gone, a close frame)
  // ends the session: the last handler's shared_ptr lets it go.
  void got(beast::error_code ec, std::size_t) {
    if (ec) return;
    ws_.text(ws_.got_text());
    ws_.async_write(buf_.data(), beast::bind_front_handler(&echo_session::wrote, shared_from_this()));
  }

  void wrote(beast::error_code ec, std::size_t) {
    if (ec) return;
    buf_.consume(buf_.size());
    read();
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  bool timeouts_;
};

// listener accepts the connections, one at a time, each onto a strand of its own when the context
// has more than one thread.
class listener {
 public:
  listener(asio::io_context& ioc, const tcp::endpoint& ep, bool strands, bool timeouts)
      : ioc_(ioc), acc_(ioc, ep), retry_(ioc), strands_(strands), timeouts_(timeouts) {}

  tcp::endpoint local_endpoint() const { return acc_.local_endpoint(); }

  void accept() {
    auto done = [this](beast::error_code ec, tcp::socket sock) { accepted(ec, std::move(sock)); };
    if (strands_) {
      acc_.async_accept(asio::make_strand(ioc_), done);
    } else {
      acc_.async_accept(done);
    }
  }

 private:
  void accepted(beast::error_code ec, tcp::socket sock) {
    if (ec) {
      // Out of descriptors, say: try again shortly rather than spin.
      std::fprintf(stderr, "ws_echo: accept: %s\n", ec.message().c_str());
      retry_.expires_after(std::chrono::milliseconds(10));
      retry_.async_wait([this](beast::error_code) { accept(); });
      return;
    }
    sock.set_option(tcp::no_delay(true), ec);  // a failure leaves Nagle on; the echo still works
    std::make_shared<echo_session>(std::move(sock), timeouts_)->start();
    accept();
  }

  asio::io_context& ioc_;
  tcp::acceptor acc_;
  asio::steady_timer retry_;
  bool strands_;
  bool timeouts_;
};

int usage() {
  std::fprintf(stderr, "usage: ws_echo ADDR:PORT [THREADS [suggested|none]] | version\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) return usage();
  std::string addr = argv[1];
  if (addr == "version") {
    std::printf("beast %s Boost %d.%d.%d\n", BOOST_BEAST_VERSION_STRING, BOOST_VERSION / 100000,
                BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
    return 0;
  }
  int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  std::string timeouts = argc > 3 ? argv[3] : "suggested";
  auto colon = addr.rfind(':');
  if (colon == std::string::npos || threads < 1 || (timeouts != "suggested" && timeouts != "none")) return usage();
  try {
    asio::io_context ioc(threads);
    tcp::endpoint ep(asio::ip::make_address(addr.substr(0, colon)),
                     static_cast<unsigned short>(std::atoi(addr.c_str() + colon + 1)));
    listener l(ioc, ep, threads > 1, timeouts == "suggested");
    l.accept();
    auto local = l.local_endpoint();
    beastgo_child::print_listening(local.address().to_string(), local.port());
    beastgo_child::serve_child_commands();
    std::vector<std::thread> more;
    for (int i = 1; i < threads; ++i) more.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : more) t.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ws_echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
