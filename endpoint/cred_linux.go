package endpoint

import (
	"net"
	"syscall"
)

// peerCred returns the credentials of the process at the other end of a unix
// socket, from SO_PEERCRED; nil for any other conn.
func peerCred(rwc net.Conn) *PeerCred {
	uc, ok := rwc.(*net.UnixConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return nil
	}
	return &PeerCred{UID: int(cred.Uid), GID: int(cred.Gid), PID: int(cred.Pid)}
}
