// Command chartserve serves the charts of a directory on loopback, as an
// HTTP chart repository and an OCI registry, until it is stopped: the
// charts the helm-platform example installs, for `make example`.
//
//	go run ./hack/chartserve -repo 127.0.0.1:38079 -registry 127.0.0.1:38080 testdata/charts
//
// It prints "ready" on standard output once every chart is served.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/chartserve"
)

func main() {
	repo := flag.String("repo", "127.0.0.1:38079", "address of the HTTP chart repository")
	reg := flag.String("registry", "127.0.0.1:38080", "address of the OCI registry")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: chartserve [-repo ADDR] [-registry ADDR] DIR")
		os.Exit(2)
	}
	s, err := chartserve.Listen(*repo, *reg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chartserve:", err)
		os.Exit(1)
	}
	defer s.Close()
	if err := s.ServeDir(flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "chartserve:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}
