package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Process is a server a test runs as a child (etcd, kube-apiserver,
// Gitea), its output appended to a log file.
type Process struct {
	// Log is the file its standard output and error go to.
	Log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // the Wait result, set before done is closed
}

// StartProcess starts bin with args, its output appended to log. env is
// its environment; nil is the test's. The process is in a process group of
// its own, so that what it starts (Gitea's git processes) ends with it, and
// on Linux the kernel kills it when the test binary dies without running
// its cleanups (a panic, a -timeout, a SIGKILL).
func StartProcess(bin, log string, args, env []string) (*Process, error) {
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", log, err)
	}
	defer f.Close() // the child has its own descriptor
	fmt.Fprintf(f, "+ %s %s\n", bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p := &Process{Log: log, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited, once Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM, kills the process group if the process has not
// exited within grace (whatever else is left in the group too), and waits
// for it to exit.
func (p *Process) Stop(grace time.Duration) {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-p.done:
		case <-timer.C:
		}
	}
	killGroup(p.cmd)
	<-p.done
}

// Tail returns the last n lines of the file at path, or why it cannot.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
