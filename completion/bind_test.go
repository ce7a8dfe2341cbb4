package completion_test

import (
	"context"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/google/go-cmp/cmp"
)

// holder is a handler of the user's own type that carries an executor, a context, or both, as a
// handler that is not a *Bound may (a composed operation's Slot does).
type holder struct {
	ex  executor.Executor
	ctx context.Context
	got *[]int
}

func (h holder) Complete(r int)              { *h.got = append(*h.got, r) }
func (h holder) Executor() executor.Executor { return h.ex }
func (h holder) Context() context.Context    { return h.ctx }

// ctxKey makes contexts that are told apart by identity.
type ctxKey struct{}

func namedCtx(name string) context.Context {
	return context.WithValue(context.Background(), ctxKey{}, name)
}

func TestBindAndWithContextKeepTheOtherAssociation(t *testing.T) {
	ex, ex2 := executor.NewIOContext(), executor.NewStrand(executor.NewIOContext())
	ctx, ctx2 := namedCtx("ctx"), namedCtx("ctx2")
	tests := []struct {
		name    string
		wrap    func(h completion.Handler[int]) completion.Handler[int]
		plain   bool // wrap a handler with no associations; else a holder with none set
		wantEx  executor.Executor
		wantCtx context.Context
	}{
		{"Bind", func(h completion.Handler[int]) completion.Handler[int] {
			return completion.Bind(ex, h)
		}, true, ex, nil},
		{"WithContext", func(h completion.Handler[int]) completion.Handler[int] {
			return completion.WithContext(ctx, h)
		}, true, nil, ctx},
		// The lost-strand trap (boostorg/asio#79): adding one association must not drop the other,
		// whichever is added first.
		{"Bind over WithContext", func(h completion.Handler[int]) completion.Handler[int] {
			return completion.Bind(ex2, completion.WithContext(ctx, h))
		}, true, ex2, ctx},
		{"WithContext over Bind", func(h completion.Handler[int]) completion.Handler[int] {
			return completion.WithContext(ctx, completion.Bind(ex2, h))
		}, true, ex2, ctx},
		{"Bind over a user handler with a context", func(h completion.Handler[int]) completion.Handler[int] {
			hh := h.(holder)
			hh.ctx = ctx
			return completion.Bind(ex2, hh)
		}, false, ex2, ctx},
		{"WithContext over a user handler with an executor", func(h completion.Handler[int]) completion.Handler[int] {
			hh := h.(holder)
			hh.ex = ex2
			return completion.WithContext(ctx, hh)
		}, false, ex2, ctx},
		{"Bind over WithContext over a user handler with an executor", func(h completion.Handler[int]) completion.Handler[int] {
			hh := h.(holder)
			hh.ex = ex
			return completion.Bind(ex2, completion.WithContext(ctx, hh))
		}, false, ex2, ctx},
		{"WithContext over Bind over a user handler with a context", func(h completion.Handler[int]) completion.Handler[int] {
			hh := h.(holder)
			hh.ctx = ctx
			return completion.WithContext(ctx2, completion.Bind(ex2, hh))
		}, false, ex2, ctx2},
		// The outer binding of the same kind wins.
		{"Bind over Bind", func(h completion.Handler[int]) completion.Handler[int] {
			return completion.Bind(ex2, completion.Bind(ex, h))
		}, true, ex2, nil},
		{"WithContext over WithContext", func(h completion.Handler[int]) completion.Handler[int] {
			return completion.WithContext(ctx2, completion.WithContext(ctx, h))
		}, true, nil, ctx2},
		{"Bind over WithContext over Bind", func(h completion.Handler[int]) completion.Handler[int] {
			return completion.Bind(ex, completion.WithContext(ctx2, completion.Bind(ex2, h)))
		}, true, ex, ctx2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			var inner completion.Handler[int] = holder{got: &got}
			if tt.plain {
				inner = completion.Callback(func(r int) { got = append(got, r) })
			}
			h := tt.wrap(inner)

			fallback := executor.NewIOContext()
			wantEx := tt.wantEx
			if wantEx == nil {
				wantEx = fallback
			}
			if gotEx := completion.AssociatedExecutor(h, fallback); gotEx != wantEx {
				t.Errorf("AssociatedExecutor = %p, want %p", gotEx, wantEx)
			}
			if gotCtx := completion.AssociatedContext(h); gotCtx != tt.wantCtx {
				t.Errorf("AssociatedContext = %v, want %v", gotCtx, tt.wantCtx)
			}
			if gotEx, gotCtx := completion.Associated(h, fallback); gotEx != wantEx || gotCtx != tt.wantCtx {
				t.Errorf("Associated = %p, %v; want %p, %v", gotEx, gotCtx, wantEx, tt.wantCtx)
			}
			// The binders only add associations: completing the result reaches the wrapped handler,
			// once.
			h.Complete(5)
			if diff := cmp.Diff([]int{5}, got); diff != "" {
				t.Errorf("wrapped handler received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBoundUnwrapsToTheUserHandler(t *testing.T) {
	ex, ctx := executor.NewIOContext(), namedCtx("ctx")
	var got []int
	user := holder{got: &got}
	b := completion.WithContext(ctx, completion.Bind(ex, completion.Handler[int](user)))
	// Binders collapse rather than stack, so one Unwrap reaches the user's handler.
	if u, ok := b.Unwrap().(holder); !ok || u.got != &got {
		t.Fatalf("Unwrap = %#v, want the user's handler", b.Unwrap())
	}
}

func TestBindNilExecutorFallsBackToTheWrappedHandlers(t *testing.T) {
	ex := executor.NewIOContext()
	var got []int
	h := completion.Bind[int](nil, holder{ex: ex, got: &got})
	if e := h.Executor(); e != executor.Executor(ex) {
		t.Fatalf("Executor = %v, want the wrapped handler's", e)
	}
	h2 := completion.WithContext[int](nil, completion.Callback(func(int) {}))
	if c := h2.Context(); c != nil {
		t.Fatalf("Context = %v, want nil", c)
	}
}

func TestAssociatedExecutorFallback(t *testing.T) {
	fallback, own := executor.NewIOContext(), executor.NewIOContext()
	var got []int
	tests := []struct {
		name string
		h    completion.Handler[int]
		want executor.Executor
	}{
		{"no Executor method", completion.Callback(func(int) {}), fallback},
		{"Executor returns nil", holder{got: &got}, fallback},
		{"Executor returns its own", holder{ex: own, got: &got}, own},
		{"bound", completion.Bind(own, completion.Detached[int]()), own},
		{"context only", completion.WithContext(context.Background(), completion.Detached[int]()), fallback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := completion.AssociatedExecutor(tt.h, fallback); got != tt.want {
				t.Fatalf("AssociatedExecutor = %p, want %p", got, tt.want)
			}
			if got, _ := completion.Associated(tt.h, fallback); got != tt.want {
				t.Fatalf("Associated's executor = %p, want %p", got, tt.want)
			}
		})
	}
	// A nil fallback is returned as nil: an operation author who has no executor learns it.
	if got := completion.AssociatedExecutor(completion.Callback(func(int) {}), nil); got != nil {
		t.Fatalf("AssociatedExecutor with nil fallback = %v", got)
	}
}

// TestBoundExecutorIsWhereAnOperationCompletes plays the part of an I/O operation: it completes its
// handler on the handler's associated executor. Wrapping a strand-bound handler with a context must
// keep it on the strand (boostorg/asio#79).
func TestBoundExecutorIsWhereAnOperationCompletes(t *testing.T) {
	io := executor.NewIOContext()
	strand := executor.NewStrand(io)
	fakeOp := func(h completion.Handler[int]) {
		completion.AssociatedExecutor(h, io).Post(func() { h.Complete(1) })
	}
	var onStrand []bool
	record := completion.Callback(func(int) { onStrand = append(onStrand, strand.RunningInThisThread()) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fakeOp(completion.WithContext(ctx, completion.Bind(strand, record)))
	fakeOp(completion.Bind(strand, completion.WithContext(ctx, record)))
	fakeOp(record) // control: unbound, runs on io outside the strand
	io.Run()
	want := []bool{true, true, false}
	if !gidKnown() {
		want = []bool{false, false, false}
	}
	if diff := cmp.Diff(want, onStrand); diff != "" {
		t.Fatalf("ran on the strand (-want +got):\n%s", diff)
	}
}

// execOnly and ctxOnly have one association each, so that Associated's every case is taken.
type execOnly struct{ ex executor.Executor }

func (execOnly) Complete(int)                  {}
func (h execOnly) Executor() executor.Executor { return h.ex }

type ctxOnly struct{ ctx context.Context }

func (ctxOnly) Complete(int)               {}
func (h ctxOnly) Context() context.Context { return h.ctx }

// Associated answers what AssociatedExecutor and AssociatedContext answer, for every kind of
// handler.
func TestAssociatedAgreesWithTheTwoLookups(t *testing.T) {
	fallback, own := executor.NewIOContext(), executor.NewIOContext()
	ctx := namedCtx("ctx")
	var got []int
	for name, h := range map[string]completion.Handler[int]{
		"no associations":                  completion.Callback(func(int) {}),
		"executor only":                    execOnly{ex: own},
		"executor only, nil":               execOnly{},
		"context only":                     ctxOnly{ctx: ctx},
		"context only, nil":                ctxOnly{},
		"both":                             holder{ex: own, ctx: ctx, got: &got},
		"both, the executor nil":           holder{ctx: ctx, got: &got},
		"both, nil":                        holder{got: &got},
		"Bind over WithContext":            completion.Bind(own, completion.WithContext(ctx, completion.Detached[int]())),
		"WithContext over a plain handler": completion.WithContext(ctx, completion.Detached[int]()),
	} {
		t.Run(name, func(t *testing.T) {
			wantEx, wantCtx := completion.AssociatedExecutor(h, fallback), completion.AssociatedContext(h)
			if ex, c := completion.Associated(h, fallback); ex != wantEx || c != wantCtx {
				t.Fatalf("Associated = %p, %v; want %p, %v", ex, c, wantEx, wantCtx)
			}
		})
	}
}
