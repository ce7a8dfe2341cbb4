//go:build linux && !beastgo_portable

package net_test

// bbPortable says which path the sockets run on: here the epoll reactor.
const bbPortable = false
