module github.com/go-tokenauth/tokenauth

go 1.22

require github.com/stretchr/testify v1.12.1 // indirect
