//go:build !linux

package apiserver

import "syscall"

// sysProcAttr returns nil: only Linux can tie a child's life to its parent's;
// elsewhere Stop, run from t.Cleanup, is what ends the children.
func sysProcAttr() *syscall.SysProcAttr { return nil }
