// executor.cpp measures Asio's io_context and strand in the shapes of the bench program's executor
// group, so that beastgo's rows have Asio's beside them, compiled with the same flags on the same
// machine. Usage:
//
//   executor SHAPE HINT DURATION_MS   run SHAPE for at least DURATION_MS, growing the count
//   executor SHAPE HINT xN            run SHAPE for exactly N handlers (rounded up to a burst)
//
// SHAPE is one of the names below; HINT is "default" (io_context()) or a concurrency hint
// (io_context(1)). It prints "asio NAME VERSION", then "SHAPE HINT NS_PER_HANDLER HANDLERS" of the
// last measurement. Every handler counts itself; a count that does not match the handlers posted is
// an error (exit status 1).
#include "asio_select.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

namespace {

// burst is how many handlers the post-then-run shapes queue before running them, as
// internal/benchcases' burst.
constexpr long burst = 1024;

using clock_type = std::chrono::steady_clock;

std::unique_ptr<net::io_context> make_context(int hint) {
  if (hint == 0) return std::make_unique<net::io_context>();
  return std::make_unique<net::io_context>(hint);
}

// Each shape runs n handlers on a fresh context and returns how many ran; Ex is where the
// handlers go: the context's executor itself, or a strand over it.

using context_executor = net::io_context::executor_type;
using strand_executor = net::strand<context_executor>;

context_executor on(net::io_context& ctx, context_executor*) { return ctx.get_executor(); }
strand_executor on(net::io_context& ctx, strand_executor*) { return net::make_strand(ctx); }

template <class Ex>
long post_then_run(int hint, long n) {
  auto ctx = make_context(hint);
  Ex ex = on(*ctx, static_cast<Ex*>(nullptr));
  long ran = 0;
  for (long done = 0; done < n; done += burst) {
    for (long i = 0; i < burst; ++i) net::post(ex, [&ran] { ++ran; });
    ctx->run();
    ctx->restart();
  }
  return ran;
}

template <class Ex>
long post_to_runner(int hint, long n) {
  auto ctx = make_context(hint);
  Ex ex = on(*ctx, static_cast<Ex*>(nullptr));
  auto guard = net::make_work_guard(*ctx);
  std::thread runner([&ctx] { ctx->run(); });
  long ran = 0;  // only the runner touches it
  for (long i = 0; i < n; ++i) net::post(ex, [&ran] { ++ran; });
  guard.reset();
  runner.join();
  return ran;
}

template <class Ex>
long chain(int hint, long n) {
  auto ctx = make_context(hint);
  Ex ex = on(*ctx, static_cast<Ex*>(nullptr));
  long ran = 0;
  struct link {
    Ex* ex;
    long* ran;
    long n;
    void operator()() const {
      if (++*ran < n) net::post(*ex, *this);
    }
  };
  net::post(ex, link{&ex, &ran, n});
  ctx->run();
  return ran;
}

struct shape {
  const char* name;
  long (*run)(int hint, long n);
  bool bursts;  // n is rounded up to a multiple of burst
};

const shape shapes[] = {
    {"post-then-run", post_then_run<context_executor>, true},
    {"post-to-runner", post_to_runner<context_executor>, false},
    {"chain", chain<context_executor>, false},
    {"strand-chain", chain<strand_executor>, false},
    {"strand-post-then-run", post_then_run<strand_executor>, true},
    {"strand-post-to-runner", post_to_runner<strand_executor>, false},
};

int usage() {
  std::fprintf(stderr, "usage: executor SHAPE default|HINT DURATION_MS|xN\nshapes:");
  for (const auto& s : shapes) std::fprintf(stderr, " %s", s.name);
  std::fprintf(stderr, "\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return usage();
  const shape* sh = nullptr;
  for (const auto& s : shapes)
    if (std::strcmp(s.name, argv[1]) == 0) sh = &s;
  if (sh == nullptr) return usage();
  int hint = 0;
  if (std::strcmp(argv[2], "default") != 0) {
    hint = std::atoi(argv[2]);
    if (hint <= 0) return usage();
  }
  long fixed = 0;
  double target_ns = 0;
  if (argv[3][0] == 'x') {
    fixed = std::atol(argv[3] + 1);
    if (fixed <= 0) return usage();
  } else {
    target_ns = std::atof(argv[3]) * 1e6;
    if (target_ns <= 0) return usage();
  }
  auto round_up = [sh](long n) { return sh->bursts ? (n + burst - 1) / burst * burst : n; };

  print_asio_version();
  // Like testing.B: start small and grow the count until one measurement lasts the target time.
  long n = round_up(fixed > 0 ? fixed : burst);
  for (;;) {
    auto t0 = clock_type::now();
    long ran = sh->run(hint, n);
    double ns = std::chrono::duration<double, std::nano>(clock_type::now() - t0).count();
    if (ran != n) {
      std::fprintf(stderr, "executor %s: %ld handlers ran of %ld\n", sh->name, ran, n);
      return 1;
    }
    if (fixed > 0 || ns >= target_ns) {
      std::printf("%s %s %.3f %ld\n", sh->name, argv[2], ns / double(n), n);
      return 0;
    }
    double grow = ns > 0 ? target_ns * 1.2 / ns : 100;
    if (grow > 100) grow = 100;
    if (grow < 2) grow = 2;
    n = round_up(long(double(n) * grow));
  }
}
