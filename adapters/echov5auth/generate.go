package echov5auth

// The package and its tests are package echoauth's with echo v5's types,
// so that the two adapters cannot drift apart: TestGenerated fails when a
// file differs from what go generate makes of echoauth's.
//go:generate sh -c "sed -f echov5.sed ../echoauth/echoauth.go > echov5auth.go"
//go:generate sh -c "sed -f echov5.sed ../echoauth/echoauth_test.go > echov5auth_test.go"
//go:generate sh -c "sed -f echov5.sed ../echoauth/example_test.go > example_test.go"
