package plugin

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
)

// limitFlags are the bounds on what one render reads (kfs.Limits), for a
// repository that legitimately holds more than the defaults allow.
type limitFlags struct {
	FileSize   string
	RootSize   string
	Documents  int
	MapEntries int
	AliasNodes int

	parsed kfs.Limits
	// flags says addFlags ran: a command without these flags (ci) takes
	// the defaults.
	flags bool
}

func (l *limitFlags) addFlags(fs *pflag.FlagSet) {
	l.flags = true
	fs.StringVar(&l.FileSize, "max-file-size", quantity(kfs.DefaultFileBytes), "the largest file a root may read")
	fs.StringVar(&l.RootSize, "max-root-size", quantity(kfs.DefaultRootBytes), "the most a root may read, all its files together")
	fs.IntVar(&l.Documents, "max-documents", kfs.DefaultDocuments, "the most YAML documents a root may read, all its files together")
	fs.IntVar(&l.MapEntries, "max-map-entries", kfs.DefaultMapEntries, "the most entries of one YAML mapping")
	fs.IntVar(&l.AliasNodes, "max-alias-nodes", kfs.DefaultAliasNodes, "the most YAML nodes a file's aliases may expand to")
}

func quantity(n int64) string { return resource.NewQuantity(n, resource.BinarySI).String() }

// validate parses the flags into limits.
func (l *limitFlags) validate() error {
	if !l.flags {
		return nil
	}
	file, err := byteFlag("--max-file-size", l.FileSize)
	if err != nil {
		return err
	}
	root, err := byteFlag("--max-root-size", l.RootSize)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--max-documents", l.Documents}, {"--max-map-entries", l.MapEntries}, {"--max-alias-nodes", l.AliasNodes}} {
		if f.v < 1 {
			return fmt.Errorf("%s must be at least 1, got %d", f.name, f.v)
		}
	}
	l.parsed = kfs.Limits{FileBytes: file, RootBytes: root, Documents: l.Documents, MapEntries: l.MapEntries, AliasNodes: l.AliasNodes}
	return nil
}

// limits are the parsed limits; the defaults before validate ran.
func (l *limitFlags) limits() kfs.Limits { return l.parsed.WithDefaults() }

// byteFlag reads a size as Kubernetes writes quantities: 16Mi, 1G, 4096.
func byteFlag(name, v string) (int64, error) {
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a size (write it as 16Mi, 1Gi or a number of bytes)", name, v)
	}
	n, ok := q.AsInt64()
	if !ok || n < 1 {
		return 0, fmt.Errorf("%s: %q must be a positive number of bytes", name, v)
	}
	return n, nil
}
