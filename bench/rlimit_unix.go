//go:build unix

package main

import "syscall"

// raiseFileLimit raises the soft limit on open files to the hard limit, so
// that thousands of idle connections fit, and returns the new soft limit.
// The serve mode calls it too, for its own process.
func raiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return 0, err
		}
	}
	return uint64(rl.Cur), nil
}
