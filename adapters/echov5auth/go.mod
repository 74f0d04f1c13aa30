module github.com/go-tokenauth/tokenauth/adapters/echov5auth

go 1.25.0

require (
	github.com/go-tokenauth/tokenauth v0.1.0
	github.com/labstack/echo/v5 v5.4.4
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
