module github.com/go-tokenauth/tokenauth/stores/sqlstore

go 1.22

require github.com/go-tokenauth/tokenauth v0.0.0

replace github.com/go-tokenauth/tokenauth => ../..
