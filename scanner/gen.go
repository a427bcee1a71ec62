package scanner

// services_gen.go comes from nmap's nmap-services (Debian package nmap):
// the port lists by open frequency behind --top-ports, -F and the default
// port set, the service names, and the IP protocol names (nmap-protocols).
//go:generate go run ./internal/genservices -in /usr/share/nmap/nmap-services -protocols /usr/share/nmap/nmap-protocols -out services_gen.go
