// Package copies copies an Op and a Slot, for TestVetReportsCopies: go vet must report both.
package copies

import "github.com/beastgo/beast/composed"

type state struct {
	op   composed.Op[int]
	slot composed.Slot[int]
}

func copyBoth(s *state) (composed.Op[int], composed.Slot[int]) {
	op := s.op     // copies the Op
	slot := s.slot // copies the Slot
	return op, slot
}
