package composed

// noCopy makes go vet's copylocks check report a copy of the struct that holds it (as in
// sync.WaitGroup): an Op and a Slot are referred to by the operations in flight, so a copy would
// be a second state that diverges from the one they update. It has no size and no behaviour.
type noCopy struct{}

// Lock is for go vet; it does nothing.
func (*noCopy) Lock() {}

// Unlock is for go vet; it does nothing.
func (*noCopy) Unlock() {}
