// asio_select.hpp picks the Asio the machine has: standalone Asio (Debian's libasio-dev, <asio.hpp>)
// first, Boost.Asio (libboost-dev, <boost/asio.hpp>) otherwise, and names it as `net`. The bench
// program compiles the programs of this directory at run time; when neither header exists the
// #error's marker tells it to skip the Asio rows rather than fail.
#ifndef BEASTGO_ASIO_SELECT_HPP
#define BEASTGO_ASIO_SELECT_HPP

#if defined(BEASTGO_USE_BOOST_ASIO) && __has_include(<boost/asio.hpp>)
#include <boost/asio.hpp>
#include <boost/version.hpp>
namespace net = boost::asio;
using error_code = boost::system::error_code;
#define BEASTGO_ASIO_NAME "Boost.Asio"
#define BEASTGO_ASIO_VERSION BOOST_ASIO_VERSION
#elif !defined(BEASTGO_USE_BOOST_ASIO) && __has_include(<asio.hpp>)
#define ASIO_STANDALONE 1
#include <asio.hpp>
namespace net = asio;
using error_code = std::error_code;
#define BEASTGO_ASIO_NAME "Asio"
#define BEASTGO_ASIO_VERSION ASIO_VERSION
#elif __has_include(<boost/asio.hpp>)
#include <boost/asio.hpp>
namespace net = boost::asio;
using error_code = boost::system::error_code;
#define BEASTGO_ASIO_NAME "Boost.Asio"
#define BEASTGO_ASIO_VERSION BOOST_ASIO_VERSION
#else
#error "beastgo-asio-missing: neither <asio.hpp> (libasio-dev) nor <boost/asio.hpp> (libboost-dev) is installed"
#endif

#include <cstdio>

// print_asio_version prints "asio NAME MAJOR.MINOR.PATCH", the first line of every program.
inline void print_asio_version() {
  int v = BEASTGO_ASIO_VERSION;
  std::printf("asio %s %d.%d.%d\n", BEASTGO_ASIO_NAME, v / 100000, v / 100 % 1000, v % 100);
}

#endif
