//go:build !linux

package capture

// openSocket: packet sockets are AF_PACKET, which only Linux has. (OpenLive
// says so before it gets here.)
func openSocket(bindTo string, cooked bool) (packetSocket, error) {
	return nil, errNeedsLinux
}
