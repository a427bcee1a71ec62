// Package e2e holds the end-to-end tests of the scanwatch binary: TestMain
// builds it once into a temporary directory, and the tests run it as a user
// or a service manager would (`scanwatch live` in a network namespace with
// real scanners, `scanwatch selftest`), reading its exit status, its EVE
// lines and its systemd readiness notification. Tests that can drive the
// pipeline in-process live with package sensor instead.
//
// Most need root, iproute2 and nmap (hping3 and tcpdump for some); `make
// deps` installs them. Without them they skip, saying what is missing.
package e2e
