package executor

import "sync"

// ThreadPool runs handlers on a fixed number of goroutines: Asio's thread_pool. It is an
// [IOContext] whose Run is called by the pool's goroutines, kept alive by a [WorkGuard] until Join.
type ThreadPool struct {
	ctx   *IOContext
	guard *WorkGuard
	wg    sync.WaitGroup
}

// NewThreadPool starts a pool of n goroutines (at least one). The pool's context is made with n
// as its concurrency hint ([NewIOContextConcurrency]): with n above one, [Serial] reports false
// for it from the moment NewThreadPool returns.
//
// A handler that panics on a pool goroutine crashes the program, as a panic on any goroutine does
// (Asio's pool threads end in std::terminate the same way).
func NewThreadPool(n int) *ThreadPool {
	p := &ThreadPool{ctx: NewIOContextConcurrency(n)}
	p.guard = MakeWorkGuard(p.ctx)
	for range max(n, 1) {
		p.wg.Go(func() { p.ctx.Run() })
	}
	return p
}

// Executor returns the pool's executor. It is the pool's IOContext, so a reactor attaches to it as
// to any IOContext and the pool's goroutines serve its sockets.
func (p *ThreadPool) Executor() Executor { return p.ctx }

// Attach makes the calling goroutine one more runner of the pool until the pool is stopped, or
// joined and out of work.
func (p *ThreadPool) Attach() { p.ctx.Run() }

// Stop makes the pool's goroutines return as soon as they can; queued handlers may never run.
func (p *ThreadPool) Stop() { p.ctx.Stop() }

// Join waits for the pool's goroutines to return: when every queued handler has run and no work is
// counted, or sooner after Stop. No goroutine of the pool is left when Join returns.
func (p *ThreadPool) Join() {
	p.guard.Reset()
	p.wg.Wait()
}

// Wait is Join (Asio keeps both names).
func (p *ThreadPool) Wait() { p.Join() }
