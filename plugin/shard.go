package plugin

import (
	"github.com/spf13/pflag"

	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// shardOptions is the --shard flag of the commands a CI matrix splits.
type shardOptions struct {
	ShardSpec string
	shard     render.Shard
}

func (o *shardOptions) addShardFlag(fs *pflag.FlagSet) {
	fs.StringVar(&o.ShardSpec, "shard", "", "take part i of n of the roots (i/n), for the jobs of a CI matrix: every root falls in exactly one part, balanced by the files each reads")
}

// parseShard reads --shard.
func (o *shardOptions) parseShard() error {
	if o.ShardSpec == "" {
		return nil
	}
	s, err := render.ParseShard(o.ShardSpec)
	o.shard = s
	return err
}
