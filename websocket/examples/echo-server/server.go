package main

import (
	"log"
	"sync"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// acceptRetryDelay is the pause after a failed accept. A failure such as running out of file
// descriptors repeats at once if the accept is retried at once, and would spin a core; net/http's
// server pauses in the same way.
const acceptRetryDelay = 100 * time.Millisecond

// server accepts connections and starts a session on each: Beast's listener. It also knows every
// open session, so that a shutdown can close them all.
//
// The accept loop, Start and Shutdown run on the server's strand (Beast's listener is on a strand
// of its own too): with several goroutines running the IOContext, the loop's handler and a
// shutdown would otherwise race.
type server struct {
	ioc    *executor.IOContext
	strand *executor.Strand
	acc    acceptor
	log    *log.Logger
	retry  *net.SteadyTimer // on the strand

	// Sessions are added on the strand and removed from their own strands, hence the mutex.
	// closing is set on the strand, under mu.
	mu       sync.Mutex
	sessions map[*session]struct{}
	closing  bool
}

// newServer listens as cfg says: a TCP acceptor for ws://, a TLS listener for wss://.
func newServer(ioc *executor.IOContext, cfg config, logger *log.Logger) (*server, error) {
	s := &server{ioc: ioc, strand: executor.NewStrand(ioc), log: logger, sessions: make(map[*session]struct{})}
	s.retry = net.NewSteadyTimer(s.strand)
	var err error
	if cfg.certFile != "" {
		s.acc, err = listenTLS(s.strand, cfg.addr, cfg.certFile, cfg.keyFile)
	} else {
		s.acc, err = listenTCP(s.strand, cfg.addr)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Addr returns the address the server listens on.
func (s *server) Addr() string { return s.acc.Addr() }

// Start starts accepting. It may be called from any goroutine, once.
func (s *server) Start() { s.strand.Post(s.doAccept) }

// Shutdown stops accepting and closes every open session with 1001 (going away). It may be called
// from any goroutine; the IOContext's Run returns once the last session has closed.
func (s *server) Shutdown() { s.strand.Post(s.shutdown) }

func (s *server) doAccept() {
	// Each connection gets a strand of its own: the socket's operations, and so the session's
	// handlers, run there, one at a time.
	s.acc.AsyncAccept(executor.NewStrand(s.ioc), s.onAccept)
}

func (s *server) onAccept(r accepted) {
	if s.closing {
		// Shutdown closed the acceptor; a connection accepted just before is not served.
		if r.err == nil {
			closeNext(r.next)
		}
		return
	}
	if r.err != nil {
		s.log.Printf("accept: %v", r.err)
		s.retry.ExpiresAfter(acceptRetryDelay)
		s.retry.AsyncWait(completion.Callback(func(err error) {
			if err == nil && !s.closing {
				s.doAccept()
			}
		}))
		return
	}
	sess := newSession(s, r.next, r.peer)
	s.mu.Lock()
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	sess.Start()
	s.doAccept()
}

// remove forgets a session that has ended. Sessions call it from their own strands.
func (s *server) remove(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	last := s.closing && len(s.sessions) == 0
	s.mu.Unlock()
	if last {
		s.stop()
	}
}

func (s *server) shutdown() {
	if s.closing {
		return
	}
	s.retry.Cancel()
	// The pending accept completes with an error, and onAccept sees closing.
	if err := s.acc.Close(); err != nil {
		s.log.Printf("close: %v", err)
	}
	s.mu.Lock()
	s.closing = true
	open := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		open = append(open, sess)
	}
	s.mu.Unlock()
	if len(open) == 0 {
		s.stop()
		return
	}
	for _, sess := range open {
		sess.GoAway()
	}
}

// stop ends the IOContext's Run calls once every session has closed. Run would return by itself
// only when no work is left, and some work that no longer matters can outlast the sessions: the
// stream of a connection that broke keeps its idle timer armed until the timer next fires, up to
// half the idle timeout (150 s) later.
func (s *server) stop() { s.ioc.Stop() }
