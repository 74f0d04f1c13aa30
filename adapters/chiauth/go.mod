module github.com/go-tokenauth/tokenauth/adapters/chiauth

go 1.24

require github.com/go-tokenauth/tokenauth v0.0.0

replace github.com/go-tokenauth/tokenauth => ../..
