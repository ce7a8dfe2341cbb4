module github.com/beastgo/beast/bench

go 1.26.0

require (
	github.com/beastgo/beast v0.0.0
	go.uber.org/goleak v1.3.0
)

require golang.org/x/sys v0.50.0 // indirect

// The bench program always measures the library in this checkout, never a published version.
replace github.com/beastgo/beast => ../
