// Command schemas generates the schema data that package
// internal/schema embeds: the OpenAPI v3 schema of every built-in kind of
// one Kubernetes version, fetched from a real kube-apiserver of that version,
// and the schemas of the Flux CRDs found in a gotk-components.yaml.
//
// See README.md beside this file for how and when to run it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv/apiserver"
)

// options are the command-line flags.
type options struct {
	apiserverBin string // the kube-apiserver binary; empty skips the Kubernetes data
	etcdBin      string // the etcd binary; default: "etcd" beside apiserverBin
	gotk         string // a gotk-components.yaml; empty skips the Flux data
	out          string // the data folder of internal/schema
}

func main() {
	var o options
	fs := flag.NewFlagSet("schemas", flag.ContinueOnError)
	fs.StringVar(&o.apiserverBin, "apiserver", "", "kube-apiserver binary to fetch the built-in schemas from (empty: leave the Kubernetes data alone)")
	fs.StringVar(&o.etcdBin, "etcd", "", "etcd binary (default: etcd beside -apiserver)")
	fs.StringVar(&o.gotk, "flux", "", "gotk-components.yaml to take the Flux CRDs from (empty: leave the Flux data alone)")
	fs.StringVar(&o.out, "o", "internal/schema/data", "output folder")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := run(context.Background(), o, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "schemas:", err)
		os.Exit(1)
	}
}

// run writes the data files that o asks for and logs each file written to
// log.
func run(ctx context.Context, o options, log io.Writer) error {
	if o.apiserverBin == "" && o.gotk == "" {
		return errors.New("nothing to do: give -apiserver, -flux or both")
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", o.out, err)
	}
	if o.apiserverBin != "" {
		data, err := kubernetesData(ctx, o)
		if err != nil {
			return err
		}
		path := filepath.Join(o.out, "kubernetes-"+data.KubernetesVersion+".json.gz")
		if err := writeGzipJSON(path, data); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %s: %d kinds, %d definitions\n", path, len(data.Kinds), len(data.Definitions))
	}
	if o.gotk != "" {
		data, err := fluxData(o.gotk)
		if err != nil {
			return err
		}
		path := filepath.Join(o.out, "flux-"+data.FluxVersion+".json.gz")
		if err := writeGzipJSON(path, data); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %s: %d CRDs\n", path, len(data.CRDs))
	}
	return nil
}

// kubernetesData starts the API server named in o and turns its OpenAPI v3
// documents into the embedded form.
func kubernetesData(ctx context.Context, o options) (*kubernetesFile, error) {
	binDir, err := os.MkdirTemp("", "schemas-bin")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary folder: %w", err)
	}
	defer os.RemoveAll(binDir)
	etcd := o.etcdBin
	if etcd == "" {
		etcd = filepath.Join(filepath.Dir(o.apiserverBin), apiserver.EtcdBinary)
	}
	// apiserver.New wants both binaries under their plain names in one folder.
	for name, target := range map[string]string{apiserver.APIServerBinary: o.apiserverBin, apiserver.EtcdBinary: etcd} {
		abs, err := filepath.Abs(target)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", target, err)
		}
		if err := os.Symlink(abs, filepath.Join(binDir, name)); err != nil {
			return nil, fmt.Errorf("linking %s: %w", target, err)
		}
	}
	dataDir, err := os.MkdirTemp("", "schemas-apiserver")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary folder: %w", err)
	}
	defer os.RemoveAll(dataDir)
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	// api/all=true serves every alpha and beta group version as well, so that
	// objects of those kinds are checked too.
	s, err := apiserver.New(startCtx, apiserver.Options{
		BinDir:             binDir,
		Dir:                dataDir,
		ReadyTimeout:       2 * time.Minute,
		ExtraAPIServerArgs: []string{"--runtime-config=api/all=true"},
	})
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.apiserverBin, err)
	}
	defer s.Stop()
	version, docs, err := fetchOpenAPI(ctx, s.RESTConfig())
	if err != nil {
		return nil, err
	}
	return buildKubernetesFile(version, docs)
}
