package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// measureArg makes the bench binary run the rest of its arguments as a
// command and write that command's wall time and peak memory to the file
// measureFileEnv names.
//
// It is how execIn measures: Linux counts, in a child's maxrss, the memory
// of the process it was started from, up to its exec. The bench holds its
// generated corpora (hundreds of MB), so a command it started itself would
// report at least that; started from this small helper, it reports its
// own.
const (
	measureArg     = "-measure-child"
	measureFileEnv = "GITOPS_BENCH_MEASURE_FILE"
)

// runMeasured is the helper: it runs args with the helper's standard
// streams and exits with the command's exit code.
func runMeasured(args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var maxRSS int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRSS = ru.Maxrss << 10
		}
	}
	if f := os.Getenv(measureFileEnv); f != "" {
		if werr := os.WriteFile(f, fmt.Appendf(nil, "%d %d\n", wall.Nanoseconds(), maxRSS), 0o644); werr != nil {
			fmt.Fprintln(os.Stderr, "bench: measure:", werr)
			return 125
		}
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		fmt.Fprintln(os.Stderr, "bench: measure:", err)
		return 126
	}
	return 0
}

// readMeasure reads what runMeasured wrote.
func readMeasure(file string) (time.Duration, int64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("measure file %s: %q", file, data)
	}
	wall, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, 0, err
	}
	rss, err := strconv.ParseInt(f[1], 10, 64)
	return time.Duration(wall), rss, err
}
