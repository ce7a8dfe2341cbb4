package interop

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// The kinds of case. Each names what our Stream does and what the peer does; the peer's part is
// the same whichever side dialled, so one catalogue serves both roles.
const (
	// kindEcho: we send one message of Size bytes, the peer echoes it with the same type, and we
	// compare; then we close with 1000.
	kindEcho = "echo"
	// kindFragmentsOut: we send fragmentedText or fragmentedBinary in frames cut by
	// fragmentPieces (inside multi-byte characters, with an empty frame among them); the peer
	// echoes the whole message.
	kindFragmentsOut = "fragments-out"
	// kindFragmentsIn: we send the same message whole; the peer echoes it in frames of Fragment
	// bytes, and we read it back frame by frame.
	kindFragmentsIn = "fragments-in"
	// kindPingOut: with a read pending we send a ping with pingOutPayload; the peer's automatic
	// pong must reach our control callback with the same payload.
	kindPingOut = "ping-out"
	// kindPingIn: the peer pings us; our read answers, the control callback sees the ping, and
	// the peer, once it has our pong, sends the text "pong " + the payload.
	kindPingIn = "ping-in"
	// kindCloseOut: we start the closing handshake with Code and Reason; the peer reports what it
	// received, and our Close must end cleanly with the peer's echo of the code.
	kindCloseOut = "close-out"
	// kindCloseIn: the peer starts the closing handshake with Code and Reason; our read must end
	// with ErrClosed and Reason() equal to them, and the peer must receive our echo of the code.
	kindCloseIn = "close-in"
	// kindDrop: we send one message; the peer drops the connection without a close frame. Our
	// read must fail with the connection's end (not ErrClosed), within the case's time, and the
	// stream must have closed its next layer.
	kindDrop = "drop"
	// kindBadUTF8: the peer sends a text message that is not UTF-8; our read must fail with
	// ErrBadFramePayload, and the peer must receive close code 1007.
	kindBadUTF8 = "bad-utf8"
)

// Case is one case of the catalogue, as the peers receive it (JSON for the Node.js script and
// the page).
type Case struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Size     int    `json:"size,omitempty"`
	Text     bool   `json:"text,omitempty"`
	Code     int    `json:"code,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Fragment int    `json:"fragment,omitempty"`
}

// report is what a peer says at the end of a case's connection: the close frame it received
// (its code, 1005 when it had none, 1006 for none at all) and anything that went wrong on its
// side. The JSON form is what the Node.js script and the page post.
type report struct {
	Name        string `json:"name"`
	CloseCode   int    `json:"closeCode"`
	CloseReason string `json:"closeReason"`
	Error       string `json:"error,omitempty"`
}

// Payloads and figures shared with the peers.
const (
	// pingOutPayload is the payload of our ping.
	pingOutPayload = "ping from beastgo"
	// pingInPayload is the payload of a peer's ping, where the peer chooses it.
	pingInPayload = "ping from the peer"
	// pongPrefix starts the message a peer sends once it has our pong.
	pongPrefix = "pong "
	// dropMessage is the message after which a peer drops the connection.
	dropMessage = "drop the connection now"
)

// messageSizes are the sizes each echo case sends: empty, one byte, the largest payload with a
// 7-bit length, the 16-bit length's smallest and next, its largest, the 64-bit length's smallest,
// and 1 MiB.
var messageSizes = []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20}

// closeCodes are the close cases' codes and reasons.
var closeCodes = []struct {
	code   int
	reason string
}{
	{1000, ""},
	{1001, ""},
	{4000, "a reason ✓"},
}

// fragmentedText is the text message of the fragment cases; fragmentPieces cuts it inside é, €
// and 𝄞, and an empty frame sits among the pieces. It stays under 32 bytes, below which a gorilla
// server fragments by its write buffer rather than writing a large message as one frame.
var fragmentedText = []byte("aé€𝄞✓")

// fragmentedBinary is the binary message of the fragment cases, bytes that are not UTF-8.
var fragmentedBinary = []byte{0x00, 0xff, 0xc3, 0x28, 0x80, 0x01, 0xfe, 0xa9, 0xe2, 0x82, 0x10, 0x20, 0xf0, 0x9d, 0x84, 0x00}

// fragmentPieces are the sizes of the frames our side writes a fragmented message in; the last
// piece is what is left.
var fragmentPieces = []int{2, 0, 2, 3, 3}

// badUTF8 is the payload of the text message a peer sends in the bad-utf8 case: "a" followed by
// a two-byte lead whose continuation byte is missing.
var badUTF8 = []byte{0x61, 0xc3, 0x28}

// catalogue returns every case, in the order they run.
func catalogue() []Case {
	var cases []Case
	for _, text := range []bool{true, false} {
		for _, n := range messageSizes {
			cases = append(cases, Case{Name: fmt.Sprintf("echo/%s/%d", typeName(text), n), Kind: kindEcho, Size: n, Text: text})
		}
	}
	for _, text := range []bool{true, false} {
		cases = append(cases,
			Case{Name: "fragments-out/" + typeName(text), Kind: kindFragmentsOut, Text: text},
			Case{Name: "fragments-in/" + typeName(text), Kind: kindFragmentsIn, Text: text, Fragment: 2})
	}
	cases = append(cases, Case{Name: "ping-out", Kind: kindPingOut}, Case{Name: "ping-in", Kind: kindPingIn})
	for _, kind := range []string{kindCloseOut, kindCloseIn} {
		for _, cc := range closeCodes {
			cases = append(cases, Case{Name: fmt.Sprintf("%s/%d", kind, cc.code), Kind: kind, Code: cc.code, Reason: cc.reason})
		}
	}
	return append(cases, Case{Name: "drop", Kind: kindDrop}, Case{Name: "bad-utf8", Kind: kindBadUTF8})
}

func typeName(text bool) string {
	if text {
		return "text"
	}
	return "binary"
}

// caseByName returns the catalogue indexed by name.
func caseByName() map[string]Case {
	m := make(map[string]Case)
	for _, c := range catalogue() {
		m[c.Name] = c
	}
	return m
}

// writeCatalogue writes the catalogue as a JSON array into a file in the test's temporary
// directory, for a peer in another process, and returns the file's path.
func writeCatalogue(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(catalogue())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// payload returns the message a case sends: for an echo case Size bytes of valid UTF-8 (text)
// or of every byte value (binary), the same each time.
func payload(c Case) []byte {
	switch c.Kind {
	case kindFragmentsOut, kindFragmentsIn:
		if c.Text {
			return fragmentedText
		}
		return fragmentedBinary
	case kindDrop:
		return []byte(dropMessage)
	}
	if c.Text {
		return textPayload(c.Size)
	}
	return binaryPayload(c.Size)
}

// textPayload returns n bytes of UTF-8 mixing characters of one to four bytes, padded with ASCII
// where the next character would not fit.
func textPayload(n int) []byte {
	runes := []rune("beast é ж € 日本 𝄞 ✓ ")
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		r := runes[i%len(runes)]
		if len(b)+utf8.RuneLen(r) > n {
			r = 'x'
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}

// binaryPayload returns n pseudo-random bytes, seeded by n.
func binaryPayload(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 0x6265617374))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// fragments cuts b into fragmentPieces.
func fragments(b []byte) [][]byte {
	var out [][]byte
	for _, n := range fragmentPieces {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

// checkReport checks what a peer reported against what the case expects of it.
func checkReport(t *testing.T, c Case, rep report) {
	t.Helper()
	if rep.Error != "" {
		t.Errorf("peer: %s", rep.Error)
	}
	want := struct {
		code   int
		reason string
		check  bool
	}{code: 1000, check: true}
	switch c.Kind {
	case kindCloseOut:
		want.code, want.reason = c.Code, c.Reason
	case kindCloseIn:
		// The code our read echoed; the reason is the peer's own and is not echoed.
		want.code = c.Code
		rep.CloseReason = ""
	case kindBadUTF8:
		want.code = 1007
		rep.CloseReason = ""
	case kindDrop:
		want.check = false
	}
	if want.check && (rep.CloseCode != want.code || rep.CloseReason != want.reason) {
		t.Errorf("peer received close %d %q, want %d %q", rep.CloseCode, rep.CloseReason, want.code, want.reason)
	}
}

// unsupported lists, for a peer, the cases its API cannot play and why, by case name or kind;
// docs/interop.md repeats them. Those cases are not run for the peer.
type unsupported map[string]string

// why returns why the peer cannot play c, or "" when it can.
func (u unsupported) why(c Case) string {
	if why, ok := u[c.Name]; ok {
		return why
	}
	return u[c.Kind]
}
