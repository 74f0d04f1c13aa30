package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// backend is a live server that tests use when a variable names it.
type backend struct {
	name, env string
}

var backends = []backend{
	{name: "PostgreSQL", env: "TOKENAUTH_TEST_POSTGRES_DSN"},
	{name: "MySQL/MariaDB", env: "TOKENAUTH_TEST_MYSQL_DSN"},
	{name: "Redis", env: "TOKENAUTH_TEST_REDIS_ADDR"},
	{name: "Redis Cluster", env: "TOKENAUTH_TEST_REDIS_CLUSTER_ADDRS"},
	{name: "PgBouncer", env: "TOKENAUTH_TEST_PGBOUNCER_DSN"},
}

// listed is the part of go list -json this command reads.
type listed struct {
	ImportPath   string
	Dir          string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
	TestImports  []string
	XTestImports []string
	Module       *struct{ Main bool }
}

// findSuites returns, for each package, the variables of the backends its
// tests read: those its test files name, or the files of a package of this
// workspace that the tests import (a shared helper) name.
func findSuites(pkgs []string) (map[string][]string, error) {
	if len(pkgs) == 0 {
		return nil, nil
	}
	tested, err := goList(pkgs)
	if err != nil {
		return nil, err
	}
	var imports []string
	for _, p := range tested {
		imports = append(imports, p.TestImports...)
		imports = append(imports, p.XTestImports...)
	}
	slices.Sort(imports)
	helpers := map[string]listed{}
	if imports = slices.Compact(imports); len(imports) > 0 {
		deps, err := goList(imports)
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			if d.Module != nil && d.Module.Main {
				helpers[d.ImportPath] = d
			}
		}
	}
	suites := map[string][]string{}
	for _, p := range tested {
		var text bytes.Buffer
		readFiles(&text, p.Dir, p.TestGoFiles, p.XTestGoFiles)
		for _, imp := range append(p.TestImports, p.XTestImports...) {
			if h, ok := helpers[imp]; ok {
				readFiles(&text, h.Dir, h.GoFiles)
			}
		}
		for _, b := range backends {
			if bytes.Contains(text.Bytes(), []byte(b.env)) {
				suites[p.ImportPath] = append(suites[p.ImportPath], b.env)
			}
		}
	}
	return suites, nil
}

func goList(pkgs []string) ([]listed, error) {
	cmd := exec.Command("go", append([]string{"list", "-e",
		"-json=ImportPath,Dir,GoFiles,TestGoFiles,XTestGoFiles,TestImports,XTestImports,Module"}, pkgs...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var all []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			return all, nil
		} else if err != nil {
			return nil, err
		}
		all = append(all, p)
	}
}

// readFiles appends the named files of dir to w; a file that cannot be read
// only makes the summary less complete.
func readFiles(w *bytes.Buffer, dir string, lists ...[]string) {
	for _, l := range lists {
		for _, name := range l {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				w.Write(b)
			}
		}
	}
}
