//go:build !linux && !darwin

package repo

import "os"

func readFile(name string) ([]byte, error) { return os.ReadFile(name) }

// readFileStat is readFile; without Unix status data it gives none.
func readFileStat(name string) ([]byte, fileStat, bool, error) {
	data, err := os.ReadFile(name)
	return data, fileStat{}, false, err
}
