package websocket

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseClosePayload covers each way a received close payload is read or refused.
func TestParseClosePayload(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    CloseReason
		wantErr error
	}{
		{name: "empty", in: "", want: CloseReason{Code: CloseNoStatus}},
		{name: "one byte", in: "\x03", wantErr: ErrBadCloseSize},
		{name: "code only", in: "\x03\xe8", want: CloseReason{Code: CloseNormal}},
		{name: "code and reason", in: "\x03\xe9bye", want: CloseReason{Code: CloseGoingAway, Reason: "bye"}},
		{name: "UTF-8 reason", in: "\x03\xe8κόσμε", want: CloseReason{Code: CloseNormal, Reason: "κόσμε"}},
		{name: "private code", in: "\x0f\x9f", want: CloseReason{Code: 3999}},
		{name: "last private code", in: "\x13\x87", want: CloseReason{Code: 4999}},
		{name: "longest reason", in: "\x03\xe8" + strings.Repeat("r", 123), want: CloseReason{Code: CloseNormal, Reason: strings.Repeat("r", 123)}},
		{name: "code 0", in: "\x00\x00", wantErr: ErrBadCloseCode},
		{name: "code 999", in: "\x03\xe7", wantErr: ErrBadCloseCode},
		{name: "code 1004", in: "\x03\xec", wantErr: ErrBadCloseCode},
		{name: "code 1005 no status", in: "\x03\xed", wantErr: ErrBadCloseCode},
		{name: "code 1006 abnormal", in: "\x03\xee", wantErr: ErrBadCloseCode},
		{name: "code 1015 TLS", in: "\x03\xf7", wantErr: ErrBadCloseCode},
		{name: "code 1016", in: "\x03\xf8", wantErr: ErrBadCloseCode},
		{name: "code 2999", in: "\x0b\xb7", wantErr: ErrBadCloseCode},
		{name: "code 5000", in: "\x13\x88", wantErr: ErrBadCloseCode},
		{name: "code 65535", in: "\xff\xff", wantErr: ErrBadCloseCode},
		{name: "bad code before bad reason", in: "\x00\x00\xff", wantErr: ErrBadCloseCode},
		{name: "invalid UTF-8 reason", in: "\x03\xe8\xff", wantErr: ErrBadClosePayload},
		{name: "surrogate reason", in: "\x03\xe8\xed\xa0\x80", wantErr: ErrBadClosePayload},
		{name: "truncated reason", in: "\x03\xe8ab\xe4\xb8", wantErr: ErrBadClosePayload},
		{name: "over 125 bytes", in: "\x03\xe8" + strings.Repeat("r", 124), wantErr: ErrBadControlSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseClosePayload([]byte(tt.in))
			if err != tt.wantErr {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrProtocol) {
				t.Errorf("%v does not match ErrProtocol", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reason (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAppendClosePayload covers each reason that can be sent and each that cannot.
func TestAppendClosePayload(t *testing.T) {
	tests := []struct {
		name    string
		in      CloseReason
		want    string
		wantErr bool
	}{
		{name: "none", in: CloseReason{}, want: ""},
		{name: "code only", in: CloseReason{Code: CloseNormal}, want: "\x03\xe8"},
		{name: "code and reason", in: CloseReason{Code: CloseGoingAway, Reason: "bye"}, want: "\x03\xe9bye"},
		{name: "private code", in: CloseReason{Code: 4999, Reason: "κόσμε"}, want: "\x13\x87κόσμε"},
		{name: "longest reason", in: CloseReason{Code: CloseNormal, Reason: strings.Repeat("r", 123)}, want: "\x03\xe8" + strings.Repeat("r", 123)},
		{name: "reason without code", in: CloseReason{Reason: "bye"}, wantErr: true},
		{name: "no status", in: CloseReason{Code: CloseNoStatus}, wantErr: true},
		{name: "abnormal", in: CloseReason{Code: CloseAbnormal}, wantErr: true},
		{name: "TLS handshake", in: CloseReason{Code: CloseTLSHandshake}, wantErr: true},
		{name: "code 5000", in: CloseReason{Code: 5000}, wantErr: true},
		{name: "reason of 124 bytes", in: CloseReason{Code: CloseNormal, Reason: strings.Repeat("r", 124)}, wantErr: true},
		{name: "invalid UTF-8 reason", in: CloseReason{Code: CloseNormal, Reason: "\xc0\xaf"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("frame header")
			got, err := appendClosePayload(prefix, tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadCloseReason) {
					t.Fatalf("error = %v, want ErrBadCloseReason", err)
				}
				// The caller's mistake is not the peer's violation: it must not be answered with
				// a close code as if the peer had broken the protocol.
				if errors.Is(err, ErrProtocol) {
					t.Errorf("%v matches ErrProtocol", err)
				}
				if string(got) != string(prefix) {
					t.Errorf("dst changed to %q on error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if diff := cmp.Diff("frame header"+tt.want, string(got)); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClosePayloadRoundTrip checks that what is sent reads back as itself, so the two ends of a
// stream agree on the reason.
func TestClosePayloadRoundTrip(t *testing.T) {
	reasons := []CloseReason{
		{Code: CloseNormal},
		{Code: CloseGoingAway, Reason: "server restart"},
		{Code: CloseInvalidPayload, Reason: "κόσμε 世界 😀"},
		{Code: 3000, Reason: strings.Repeat("x", 123)},
		{Code: 4999, Reason: strings.Repeat("é", 61) + "!"},
	}
	for _, r := range reasons {
		payload, err := appendClosePayload(nil, r)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		got, err := parseClosePayload(payload)
		if err != nil {
			t.Fatalf("%+v: parse: %v", r, err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("round trip (-sent +read):\n%s", diff)
		}
	}
	// The one asymmetry: an empty payload is sent as CloseNone and read as CloseNoStatus.
	payload, err := appendClosePayload(nil, CloseReason{})
	if err != nil || len(payload) != 0 {
		t.Fatalf("CloseNone: %q, %v", payload, err)
	}
	if got, err := parseClosePayload(payload); err != nil || got != (CloseReason{Code: CloseNoStatus}) {
		t.Fatalf("empty payload read as %+v, %v", got, err)
	}
}
