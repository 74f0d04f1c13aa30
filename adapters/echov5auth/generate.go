package echov5auth

// echov5auth.go is echoauth.go with echo v5's types: the two adapters
// cannot drift apart. CI regenerates it and fails on a difference.
//go:generate sh -c "sed -f echov5.sed ../echoauth/echoauth.go > echov5auth.go"
