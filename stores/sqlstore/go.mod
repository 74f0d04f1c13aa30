module github.com/go-tokenauth/tokenauth/stores/sqlstore

go 1.25.0

require (
	github.com/DATA-DOG/go-sqlmock v1.5.2
	github.com/go-tokenauth/tokenauth v0.1.0
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
