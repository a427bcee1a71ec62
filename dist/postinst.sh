#!/bin/sh
# Let a running systemd see the new unit. The service is not enabled: it
# watches every interface, so starting it is the administrator's call
# (systemctl enable --now scanwatch).
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	if systemctl -q is-active scanwatch.service 2>/dev/null; then
		systemctl try-restart scanwatch.service || true
	fi
fi
