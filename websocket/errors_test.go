package websocket

import (
	"errors"
	"testing"
)

func TestProtocolErrorsMatchTheirCategoryAndCarryTheirCode(t *testing.T) {
	cases := []struct {
		err  *ProtocolError
		code CloseCode
	}{
		{ErrBadOpcode, CloseProtocolError},
		{ErrBadFramePayload, CloseInvalidPayload},
		{ErrBadClosePayload, CloseInvalidPayload},
		{ErrMessageTooBig, CloseTooBig},
	}
	for _, c := range cases {
		if !errors.Is(c.err, ErrProtocol) {
			t.Errorf("%v: errors.Is(err, ErrProtocol) is false", c.err)
		}
		var pe *ProtocolError
		if !errors.As(error(c.err), &pe) || pe.Code() != c.code {
			t.Errorf("%v: code %v, want %v", c.err, pe.Code(), c.code)
		}
	}
	if errors.Is(ErrBadOpcode, ErrBadSize) {
		t.Error("two distinct violations match each other")
	}
}

func TestCloseCodeValid(t *testing.T) {
	valid := []CloseCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999}
	invalid := []CloseCode{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}
	for _, c := range valid {
		if !c.Valid() {
			t.Errorf("%d: Valid() = false", c)
		}
	}
	for _, c := range invalid {
		if c.Valid() {
			t.Errorf("%d: Valid() = true", c)
		}
	}
	if CloseGoingAway.String() != "going away" || CloseCode(4000).String() != "4000" {
		t.Errorf("String: %q, %q", CloseGoingAway.String(), CloseCode(4000).String())
	}
}
