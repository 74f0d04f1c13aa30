module github.com/go-tokenauth/tokenauth/stores/sqlstore/pglisten

go 1.25.0

require (
	github.com/go-tokenauth/tokenauth v0.1.0
	github.com/go-tokenauth/tokenauth/stores/sqlstore v0.1.0
	github.com/jackc/pgx/v5 v5.7.1
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.27.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)
