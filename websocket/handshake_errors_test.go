package websocket

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestHandshakeErrors(t *testing.T) {
	tests := []struct {
		err    error
		status int
	}{
		{ErrBadHTTPVersion, http.StatusBadRequest},
		{ErrBadMethod, http.StatusBadRequest},
		{ErrNoHost, http.StatusBadRequest},
		{ErrNoConnection, http.StatusBadRequest},
		{ErrNoConnectionUpgrade, http.StatusBadRequest},
		{ErrNoUpgrade, http.StatusBadRequest},
		{ErrNoUpgradeWebSocket, http.StatusBadRequest},
		{ErrNoSecKey, http.StatusBadRequest},
		{ErrBadSecKey, http.StatusBadRequest},
		{ErrNoSecVersion, http.StatusBadRequest},
		{ErrBadSecVersion, http.StatusUpgradeRequired},
		{ErrOriginRefused, http.StatusForbidden},
		{ErrBufferOverflow, http.StatusRequestHeaderFieldsTooLarge},
		{ErrNoSecAccept, 0},
		{ErrBadSecAccept, 0},
		{ErrUpgradeDeclined, 0},
		{ErrBadSubprotocol, 0},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			wrapped := fmt.Errorf("accept: %w", tt.err)
			if !errors.Is(wrapped, ErrHandshake) {
				t.Error("does not match ErrHandshake")
			}
			if errors.Is(wrapped, ErrProtocol) {
				t.Error("matches ErrProtocol")
			}
			he, ok := errors.AsType[*HandshakeError](wrapped)
			if !ok {
				t.Fatal("not a *HandshakeError")
			}
			if he.StatusCode() != tt.status {
				t.Errorf("StatusCode() = %d, want %d", he.StatusCode(), tt.status)
			}
			if !strings.HasPrefix(tt.err.Error(), "websocket: ") {
				t.Errorf("message %q lacks the package prefix", tt.err.Error())
			}
			for _, other := range tests {
				if other.err != tt.err && errors.Is(tt.err, other.err) {
					t.Errorf("matches %v", other.err)
				}
			}
		})
	}
	if errors.Is(ErrHandshake, ErrProtocol) || errors.Is(ErrBadOpcode, ErrHandshake) {
		t.Error("the handshake and protocol categories overlap")
	}
}
