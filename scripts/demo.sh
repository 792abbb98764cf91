#!/usr/bin/env bash
# lanchat demo: three machines (alice, bob, carol) on one simulated LAN, each
# a network namespace cabled into a bridge that lives in a namespace of its
# own, with trust set up and one `lanchat chat` per tmux pane.
#
#   scripts/demo.sh up BIN    # make demo: build the LAN, open the tmux session
#   scripts/demo.sh down      # make demo-clean: remove all of it
#
# Nothing here touches this machine's own network: every interface is made
# inside a demo namespace (the veth's peer end is created straight into the
# switch namespace), broadcast stays on the demo bridge, and `down` deletes
# the namespaces, which deletes their interfaces. Needs root, iproute2, tmux.
set -euo pipefail

PREFIX=lcdemo                       # every demo namespace starts with it
SWITCH=$PREFIX-switch               # holds the bridge
SESSION=lanchat-demo                # the tmux session
SUBNET=10.77.42                     # /24 inside the demo namespaces only
DATA=${LANCHAT_DEMO_DIR:-/tmp/lanchat-demo}
ROOM=lobby
NAMES=(alice bob carol)

die() { echo "demo: $*" >&2; exit 1; }

need() { # need [tmux]
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces); try: sudo make demo"
	command -v ip >/dev/null || die "needs iproute2 (ip); run: make tools"
	ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here"
	[ "${1:-}" != tmux ] || command -v tmux >/dev/null || die "needs tmux; run: make tools"
}

# down removes the tmux session, the processes in the demo namespaces (by
# pid), the namespaces and the data.
down() {
	if command -v tmux >/dev/null; then tmux kill-session -t "$SESSION" 2>/dev/null || true; fi
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -TERM "$pid" 2>/dev/null || true
		done
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$ns"
	done
	case "$DATA" in /tmp/*) rm -rf "$DATA" ;; *) echo "demo: left $DATA in place (not under /tmp)" ;; esac
	echo "demo: removed"
}

# host NAME N: a namespace with eth0 = $SUBNET.N/24, cabled into br0.
host() {
	local ns=$PREFIX-$1
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add eth0 type veth peer name "v-$1" netns "$SWITCH"
	ip -n "$SWITCH" link set "v-$1" master br0 up
	ip -n "$ns" addr add "$SUBNET.$2/24" broadcast "$SUBNET.255" dev eth0
	ip -n "$ns" link set eth0 up
}

on_fail() { # an EXIT trap while up builds the LAN
	local rc=$?
	if [ "$rc" != 0 ]; then
		echo "demo: setup failed; removing what was made" >&2
		down >/dev/null 2>&1 || true
	fi
}

lanchat_in() { # lanchat_in NAME ARGS...: run lanchat on NAME's data dir
	local name=$1
	shift
	"$BIN" --data-dir "$DATA/$name" "$@"
}

up() {
	[ -x "$BIN" ] || die "no lanchat binary at $BIN; run: make build"
	need tmux
	down >/dev/null
	trap on_fail EXIT
	ip netns add "$SWITCH"
	ip -n "$SWITCH" link add br0 type bridge stp_state 0
	ip -n "$SWITCH" link set br0 up
	local i=1 name other out
	for name in "${NAMES[@]}"; do
		host "$name" "$i"
		i=$((i + 1))
		out=$(lanchat_in "$name" init --name "$name" --no-passphrase 2>&1) || die "lanchat init for $name: $out"
	done
	for name in "${NAMES[@]}"; do
		for other in "${NAMES[@]}"; do
			[ "$name" = "$other" ] && continue
			lanchat_in "$name" trust "$(lanchat_in "$other" id --json | sed -n 's/.*"fingerprint": *"\([^"]*\)".*/\1/p')" --name "$other" >/dev/null
		done
	done
	open_tmux
	trap - EXIT
	cat <<EOF
demo: alice, bob and carol are on $SUBNET.0/24 (namespaces $PREFIX-*), trusting each other.
demo: type in any pane and press Enter; Ctrl-b + arrow moves between panes; Ctrl-b d detaches.
demo: attach again: tmux attach -t $SESSION    remove it all: make demo-clean
EOF
	if [ -t 0 ] && [ -t 1 ]; then
		if [ -n "${TMUX:-}" ]; then exec tmux switch-client -t "$SESSION"; fi
		exec tmux attach -t "$SESSION"
	fi
}

open_tmux() {
	local first=1 name cmd
	for name in "${NAMES[@]}"; do
		cmd="ip netns exec $PREFIX-$name $BIN --data-dir $DATA/$name chat --room $ROOM --discovery-iface eth0"
		if [ $first = 1 ]; then
			tmux new-session -d -s "$SESSION" -x 200 -y 50 -n lan "$cmd"
			tmux set-option -t "$SESSION" remain-on-exit on
			tmux set-option -t "$SESSION" pane-border-status top
			first=0
		else
			tmux split-window -t "$SESSION:lan" "$cmd"
		fi
		tmux select-pane -t "$SESSION:lan" -T "$name @ $PREFIX-$name"
		tmux select-layout -t "$SESSION:lan" even-vertical
	done
	tmux select-pane -t "$SESSION:lan.0"
}

case "${1:-}" in
up)
	BIN=$(realpath "${2:-bin/lanchat}")
	up
	;;
down)
	need
	down
	;;
*) die "usage: $0 up BIN | down" ;;
esac
