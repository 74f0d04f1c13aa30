// Command modproxy publishes every module of a git working tree, at one
// version, into a directory laid out as a GOPROXY (file://DIR). It lets the
// release check fetch the modules exactly as a user would after tagging,
// before anything is tagged.
//
//	go run ./.ci/modproxy -version v0.1.0 -o /tmp/proxy [repo]
//
// It prints one line per module published: its path and its directory.
// With -tree DIR it also copies the files it read into DIR, so that checks
// which rewrite go.mod and go.sum can run on the same tree elsewhere.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	version := flag.String("version", "", "the candidate `version`, e.g. v0.1.0")
	out := flag.String("o", "", "the proxy `directory` to write (created if missing)")
	tree := flag.String("tree", "", "also copy the working tree's files into this `directory`")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: modproxy -version vX.Y.Z -o dir [repo root, default .]")
		flag.PrintDefaults()
	}
	flag.Parse()
	repo := "."
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	} else if flag.NArg() == 1 {
		repo = flag.Arg(0)
	}
	if *version == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	mods, err := publish(repo, *version, *out, *tree)
	if err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
	for _, m := range mods {
		fmt.Println(m.Path, m.Dir)
	}
}
