package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMECode checks that the gin code shown in examples/README.md is
// this example's, function by function.
func TestREADMECode(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)## gin, echo and chi\n.*?```go\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, m, "examples/README.md shows no Go code under \"## gin, echo and chi\"")
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)

	funcs := strings.SplitAfter(string(m[1]), "\n}\n")
	require.Greater(t, len(funcs), 1)
	for _, fn := range funcs {
		if fn = strings.TrimSpace(fn); fn != "" {
			assert.Contains(t, string(src), fn+"\n", "README code not in main.go")
		}
	}
}
