package nettest_test

import (
	"fmt"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// Two ends of a connection: what one writes, the other reads, here one byte at a time.
func ExampleNewPair() {
	ioc := executor.NewIOContext()
	client, server := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{ReadSize: 1})

	net.AsyncWrite(client, []byte("hello"), completion.Detached[net.IOResult]())
	buf := make([]byte, 5)
	net.AsyncRead(server, buf, completion.Callback(func(r net.IOResult) {
		fmt.Printf("read %q, err %v\n", buf[:r.N], r.Err)
	}))
	ioc.Run()
	// Output: read "hello", err <nil>
}

// Walking a failure through every step of a composed operation: count its inner operations once,
// then fail each in turn and check what the operation reports.
func ExampleFailCount() {
	read := func(fc *nettest.FailCount) net.IOResult {
		ioc := executor.NewIOContext()
		s, _ := nettest.NewPair(ioc, nettest.Options{ReadSize: 2, Fail: fc}, nettest.Options{})
		s.Append([]byte("abcdef"))
		var res net.IOResult
		net.AsyncRead(s, make([]byte, 6), completion.Callback(func(r net.IOResult) { res = r }))
		ioc.Run()
		return res
	}

	counter := nettest.NewFailCount(0, nil) // fails nothing, counts
	read(counter)
	for n := 1; n <= counter.Count(); n++ {
		r := read(nettest.NewFailCount(n, nil))
		fmt.Printf("failing read %d: N=%d, err %v\n", n, r.N, r.Err)
	}
	// Output:
	// failing read 1: N=0, err nettest: injected failure
	// failing read 2: N=2, err nettest: injected failure
	// failing read 3: N=4, err nettest: injected failure
}
