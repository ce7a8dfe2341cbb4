module github.com/beastgo/beast/bench

go 1.26.0

require (
	github.com/beastgo/beast v0.0.0
	github.com/coder/websocket v1.8.15
	github.com/gobwas/ws v1.5.0
	github.com/gorilla/websocket v1.5.3
	github.com/lesismal/nbio v1.6.8
	go.uber.org/goleak v1.3.0
)

require (
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/lesismal/llib v1.2.2 // indirect
	golang.org/x/crypto v0.0.0-20210513122933-cd7d49e622d5 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

// The bench program always measures the library in this checkout, never a published version.
replace github.com/beastgo/beast => ../
