//go:build !linux

package testenv

import (
	"os/exec"
	"syscall"
)

// sysProcAttr returns nil: only Linux can tie a child's life to its parent's;
// elsewhere the test's cleanup, which stops the process, is what ends it.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the process.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
