package scanner

// services_gen.go comes from nmap's nmap-services (Debian package nmap):
// the port lists by open frequency behind --top-ports, -F and the default
// port set, and the service names.
//go:generate go run ./internal/genservices -in /usr/share/nmap/nmap-services -out services_gen.go
