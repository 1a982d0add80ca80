//go:build !linux

package gitea

import (
	"os/exec"
	"syscall"
)

// sysProcAttr returns nil: only Linux can tie a child's life to its parent's;
// elsewhere the cleanup that Start registers is what ends Gitea.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the process.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
