//go:build !unix

package cache

import (
	"errors"
	"os"
)

// mapFile does not map files here: GetString reads them.
func mapFile(*os.File, int) ([]byte, error) { return nil, errors.ErrUnsupported }
