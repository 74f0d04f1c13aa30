// Tooling for .ci/run and the README's test command. Never published: the
// path has no domain, and .ci/modproxy skips directories starting with a dot.
module tokenauth-ci

go 1.26.0

require (
	github.com/stretchr/testify v1.12.1
	golang.org/x/mod v0.42.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
