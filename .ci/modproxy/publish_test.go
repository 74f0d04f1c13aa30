package main

import (
	"archive/zip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newRepo makes a git working tree holding files (path → content), with
// only the paths in tracked added to the index.
func newRepo(t *testing.T, files map[string]string, tracked ...string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	git("init", "-q")
	git(append([]string{"add", "--"}, tracked...)...)
	return dir
}

// zipNames lists the names in a module zip.
func zipNames(t *testing.T, name string) []string {
	t.Helper()
	r, err := zip.OpenReader(name)
	require.NoError(t, err)
	defer r.Close()
	var names []string
	for _, f := range r.File {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	return names
}

func TestPublish(t *testing.T) {
	repo := newRepo(t, map[string]string{
		"go.mod":            "module example.com/m\n\ngo 1.25.0\n",
		"m.go":              "package m\n",
		".gitignore":        "*.db\n",
		"tokens.db":         "ignored",
		"new.go":            "package m // untracked, not ignored\n",
		"sub/go.mod":        "module example.com/m/sub\n\ngo 1.25.0\n\nrequire example.com/m v0.1.0\n",
		"sub/s.go":          "package sub\n",
		"sub/inner/go.mod":  "module example.com/m/sub/inner\n\ngo 1.25.0\n",
		".ci/go.mod":        "module tools\n\ngo 1.26.0\n",
		".ci/tool/main.go":  "package main\n",
		"testdata/x/go.mod": "module x\n",
	}, "go.mod", "m.go", ".gitignore", "sub", ".ci", "testdata")
	out, tree := t.TempDir(), t.TempDir()

	mods, err := publish(repo, "v0.1.0", out, tree)
	require.NoError(t, err)
	assert.Equal(t, []Module{
		{Path: "example.com/m", Dir: "."},
		{Path: "example.com/m/sub", Dir: "sub"},
		{Path: "example.com/m/sub/inner", Dir: "sub/inner"},
	}, mods)

	tests := []struct {
		name  string
		esc   string
		files []string
	}{
		{"root leaves out nested modules and ignored files", "example.com/m", []string{
			"example.com/m@v0.1.0/.gitignore", "example.com/m@v0.1.0/go.mod",
			"example.com/m@v0.1.0/m.go", "example.com/m@v0.1.0/new.go",
		}},
		{"sub-module leaves out its own nested module", "example.com/m/sub", []string{
			"example.com/m/sub@v0.1.0/go.mod", "example.com/m/sub@v0.1.0/s.go",
		}},
	}
	t.Run("tree holds the listed files", func(t *testing.T) {
		var got []string
		require.NoError(t, filepath.WalkDir(tree, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(tree, p)
				got = append(got, filepath.ToSlash(rel))
			}
			return err
		}))
		assert.ElementsMatch(t, []string{
			".ci/go.mod", ".ci/tool/main.go", ".gitignore", "go.mod", "m.go", "new.go",
			"sub/go.mod", "sub/inner/go.mod", "sub/s.go", "testdata/x/go.mod",
		}, got)
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := filepath.Join(out, filepath.FromSlash(tc.esc), "@v")
			assert.Equal(t, tc.files, zipNames(t, filepath.Join(v, "v0.1.0.zip")))

			list, err := os.ReadFile(filepath.Join(v, "list"))
			require.NoError(t, err)
			assert.Equal(t, "v0.1.0\n", string(list))

			var info struct{ Version string }
			b, err := os.ReadFile(filepath.Join(v, "v0.1.0.info"))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &info))
			assert.Equal(t, "v0.1.0", info.Version)

			mod, err := os.ReadFile(filepath.Join(v, "v0.1.0.mod"))
			require.NoError(t, err)
			dir := filepath.Join(repo, filepath.FromSlash(tc.esc[len("example.com/m"):]))
			want, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			require.NoError(t, err)
			assert.Equal(t, string(want), string(mod))
		})
	}
}

func TestPublishErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		version string
		want    string
	}{
		{"module path not after its directory", map[string]string{
			"go.mod": "module example.com/m\n", "adapters/a/go.mod": "module example.com/m/a\n",
		}, "v0.1.0", "adapters/a/go.mod says module example.com/m/a"},
		{"no root module", map[string]string{"sub/go.mod": "module example.com/m/sub\n"}, "v0.1.0", "no go.mod at the root"},
		{"no module line", map[string]string{"go.mod": "go 1.25.0\n"}, "v0.1.0", "go.mod: no module line"},
		{"version not canonical", map[string]string{"go.mod": "module example.com/m\n"}, "v0.1", "not a canonical semantic version"},
		{"version without v", map[string]string{"go.mod": "module example.com/m\n"}, "0.1.0", "not a canonical semantic version"},
		{"major version without suffix", map[string]string{"go.mod": "module example.com/m\n"}, "v2.0.0", "example.com/m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			for name := range tc.files {
				names = append(names, name)
			}
			repo := newRepo(t, tc.files, names...)
			_, err := publish(repo, tc.version, t.TempDir(), "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
