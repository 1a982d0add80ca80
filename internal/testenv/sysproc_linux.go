package testenv

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts a child in a process group of its own, so the processes
// it runs can be killed with it, and has the kernel kill it when the test
// binary dies without running its cleanups (a panic, a -timeout, a SIGKILL).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process and everything else in its process group.
func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
