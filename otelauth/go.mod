module github.com/go-tokenauth/tokenauth/otelauth

go 1.25.0

require github.com/go-tokenauth/tokenauth v0.1.0
