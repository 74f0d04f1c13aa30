module github.com/go-tokenauth/tokenauth/adapters/chiauth

go 1.25.0

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/go-tokenauth/tokenauth v0.1.0
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
