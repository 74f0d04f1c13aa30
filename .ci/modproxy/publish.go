package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// Module is a module found in the working tree.
type Module struct {
	Path string // from its go.mod
	Dir  string // slash-separated, relative to the repository root; "." is the root
}

// publish writes every module of the git working tree at repo into the
// proxy directory out, at version. The files are those git lists: tracked
// ones, and untracked ones unless ignored, so each zip holds what a tag of
// the tree would once committed. Nested modules are left out of their
// parent's zip, as the go command does. Unless tree is empty, the same
// files are copied there too.
func publish(repo, version, out, tree string) ([]Module, error) {
	if !strings.HasPrefix(version, "v") || module.CanonicalVersion(version) != version {
		return nil, fmt.Errorf("version %q is not a canonical semantic version such as v0.1.0", version)
	}
	files, err := gitFiles(repo)
	if err != nil {
		return nil, err
	}
	mods, err := findModules(repo, files)
	if err != nil {
		return nil, err
	}
	if tree != "" {
		if err := copyFiles(repo, files, tree); err != nil {
			return nil, err
		}
	}
	for _, m := range mods {
		if err := write(repo, m, version, files, out); err != nil {
			return nil, fmt.Errorf("module %s: %w", m.Path, err)
		}
	}
	return mods, nil
}

// gitFiles lists the working tree's files that a commit of it would hold,
// slash-separated and relative to repo.
func gitFiles(repo string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing files with git in %s: %v: %s", repo, err, strings.TrimSpace(stderr.String()))
	}
	var files []string
	for _, f := range strings.Split(string(b), "\x00") {
		if f == "" {
			continue
		}
		if _, err := os.Lstat(filepath.Join(repo, filepath.FromSlash(f))); err != nil {
			continue // deleted but not yet committed
		}
		files = append(files, f)
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// copyFiles copies files (relative to repo) into dir, keeping their modes.
func copyFiles(repo string, files []string, dir string) error {
	for _, f := range files {
		src := filepath.Join(repo, filepath.FromSlash(f))
		info, err := os.Lstat(src)
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			continue // a symlink or other irregular file: no module zip holds one either
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// findModules returns the modules to publish: every go.mod outside
// directories the go command ignores (names starting with "." or "_", and
// testdata). A module's path must be the root's path joined with its
// directory, or tags named after the directory would not find it.
func findModules(repo string, files []string) ([]Module, error) {
	var mods []Module
	for _, f := range files {
		if path.Base(f) != "go.mod" {
			continue
		}
		dir := path.Dir(f)
		if ignoredDir(dir) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		p := modfile.ModulePath(data)
		if p == "" {
			return nil, fmt.Errorf("%s: no module line", f)
		}
		mods = append(mods, Module{Path: p, Dir: dir})
	}
	i := slices.IndexFunc(mods, func(m Module) bool { return m.Dir == "." })
	if i < 0 {
		return nil, fmt.Errorf("no go.mod at the root of %s", repo)
	}
	root := mods[i].Path
	for _, m := range mods {
		if want := root + "/" + m.Dir; m.Dir != "." && m.Path != want {
			return nil, fmt.Errorf("%s/go.mod says module %s; a tag %s/vX.Y.Z would publish it as %s", m.Dir, m.Path, m.Dir, want)
		}
	}
	return mods, nil
}

// ignoredDir reports whether the go command ignores dir when matching
// packages, so a module there is tooling, not something to publish.
func ignoredDir(dir string) bool {
	for _, e := range strings.Split(dir, "/") {
		if strings.HasPrefix(e, ".") && e != "." || strings.HasPrefix(e, "_") || e == "testdata" {
			return true
		}
	}
	return false
}

// write adds module m at version to the proxy at out: the list, .info,
// .mod and .zip files the GOPROXY protocol serves.
func write(repo string, m Module, version string, files []string, out string) error {
	esc, err := module.EscapePath(m.Path)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var zfiles []zip.File
	prefix := ""
	if m.Dir != "." {
		prefix = m.Dir + "/"
	}
	for _, f := range files {
		if rel, ok := strings.CutPrefix(f, prefix); ok {
			zfiles = append(zfiles, repoFile{rel: rel, abs: filepath.Join(repo, filepath.FromSlash(f))})
		}
	}
	var z bytes.Buffer
	if err := zip.Create(&z, module.Version{Path: m.Path, Version: version}, zfiles); err != nil {
		return err
	}
	gomod, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(prefix+"go.mod")))
	if err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": info,
		version + ".mod":  gomod,
		version + ".zip":  z.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// repoFile is a file of the working tree, as zip.Create reads it.
type repoFile struct {
	rel string // slash-separated, relative to the module's directory
	abs string
}

func (f repoFile) Path() string                 { return f.rel }
func (f repoFile) Lstat() (os.FileInfo, error)  { return os.Lstat(f.abs) }
func (f repoFile) Open() (io.ReadCloser, error) { return os.Open(f.abs) }
