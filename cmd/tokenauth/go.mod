module github.com/go-tokenauth/tokenauth/cmd/tokenauth

go 1.26

require github.com/go-tokenauth/tokenauth v0.0.0

replace github.com/go-tokenauth/tokenauth => ../..
