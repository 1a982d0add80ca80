//go:build !linux

package hugepages
