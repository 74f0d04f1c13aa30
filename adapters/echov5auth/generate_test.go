package echov5auth_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGenerated fails when a file of this package is not what echov5.sed
// makes of echoauth's, so that the echo v5 adapter and its tests cannot
// drift from the v4 ones.
func TestGenerated(t *testing.T) {
	sed, err := exec.LookPath("sed")
	if err != nil {
		t.Skip("sed not found: cannot check that this package is generated from ../echoauth")
	}
	for src, dst := range map[string]string{
		"../echoauth/echoauth.go":      "echov5auth.go",
		"../echoauth/echoauth_test.go": "echov5auth_test.go",
		"../echoauth/example_test.go":  "example_test.go",
	} {
		if _, err := os.Stat(src); os.IsNotExist(err) {
			t.Skip(src + " is absent (not a checkout of the repository): nothing to compare with")
		}
		want, err := exec.Command(sed, "-f", "echov5.sed", src).Output()
		require.NoError(t, err, "sed -f echov5.sed %s", src)
		got, err := os.ReadFile(dst)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%s is stale or edited by hand: run go generate in adapters/echov5auth", dst)
	}
}
