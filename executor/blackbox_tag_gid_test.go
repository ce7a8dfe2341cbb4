//go:build !beastgo_nogid

package executor_test

const bbNoGidTag = false
