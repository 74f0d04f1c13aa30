module github.com/go-tokenauth/tokenauth/adapters/ginauth

go 1.25

require github.com/go-tokenauth/tokenauth v0.0.0

replace github.com/go-tokenauth/tokenauth => ../..
