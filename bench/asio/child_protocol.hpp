// child_protocol.hpp is the C++ side of the bench program's server-child protocol
// (bench/wschild.go) for a server that is not a Go program: once it listens, the server prints
// "listening ADDR:PORT"; then serve_child_commands answers "stats" and "gcstats" on stdin with a
// JSON line of the process's CPU time from getrusage(2) (no Go runtime: the allocation, heap and
// goroutine counts are 0), "error ..." to anything else, and ends the process when stdin closes.
#ifndef BEASTGO_CHILD_PROTOCOL_HPP
#define BEASTGO_CHILD_PROTOCOL_HPP

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

namespace beastgo_child {

inline long long to_ns(const timeval& tv) {
  return static_cast<long long>(tv.tv_sec) * 1000000000LL + static_cast<long long>(tv.tv_usec) * 1000LL;
}

// print_listening tells the parent where the server listens.
inline void print_listening(const std::string& host, unsigned port) {
  std::printf("listening %s:%u\n", host.c_str(), port);
  std::fflush(stdout);
}

// serve_commands answers the parent until stdin closes, then ends the process at once: the
// server's threads are never joined.
inline void serve_commands() {
  std::string line;
  while (std::getline(std::cin, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line == "stats" || line == "gcstats") {
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      std::printf(
          "{\"user_ns\":%lld,\"sys_ns\":%lld,\"mallocs\":0,\"heap_inuse\":0,\"stack_inuse\":0,\"goroutines\":0}\n",
          to_ns(ru.ru_utime), to_ns(ru.ru_stime));
    } else {
      std::printf("error unknown command \"%s\"\n", line.c_str());
    }
    std::fflush(stdout);
  }
  std::fflush(stdout);
  std::_Exit(0);
}

// serve_child_commands runs serve_commands on a thread of its own.
inline void serve_child_commands() { std::thread(serve_commands).detach(); }

}  // namespace beastgo_child

#endif
