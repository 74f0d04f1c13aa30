package echov5auth_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGenerated fails when echov5auth.go is not what echov5.sed makes of
// echoauth.go, so that the echo v5 adapter cannot drift from the v4 one.
func TestGenerated(t *testing.T) {
	sed, err := exec.LookPath("sed")
	if err != nil {
		t.Skip("sed not found: cannot check that echov5auth.go is generated from ../echoauth/echoauth.go")
	}
	const src = "../echoauth/echoauth.go"
	if _, err := os.Stat(src); os.IsNotExist(err) {
		t.Skip(src + " is absent (not a checkout of the repository): nothing to compare with")
	}
	want, err := exec.Command(sed, "-f", "echov5.sed", src).Output()
	require.NoError(t, err, "sed -f echov5.sed %s", src)
	got, err := os.ReadFile("echov5auth.go")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "echov5auth.go is stale or edited by hand: run go generate in adapters/echov5auth")
}
