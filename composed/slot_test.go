package composed_test

import (
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
)

// A slot not armed by Into answers its associations without an operation: no executor, no
// context. Asked by an inner operation started with a slot by mistake, it must not crash.
func TestUnarmedSlotHasNoAssociations(t *testing.T) {
	var s composed.Slot[int]
	if ex := s.Executor(); ex != nil {
		t.Errorf("Executor() = %v, want nil", ex)
	}
	if ctx := s.Context(); ctx != nil {
		t.Errorf("Context() = %v, want nil", ctx)
	}
	ex, ctx := completion.Associated[int](&s, nil)
	if ex != nil || ctx != nil {
		t.Errorf("Associated = %v, %v, want nil, nil", ex, ctx)
	}
}
