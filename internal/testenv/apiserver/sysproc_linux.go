package apiserver

import "syscall"

// sysProcAttr has the kernel kill a child when the test binary dies without
// running its cleanups (a panic, a -timeout, a SIGKILL), so no etcd or
// kube-apiserver outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
