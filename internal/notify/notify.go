// Package notify sends desktop notifications: the freedesktop.org
// notification service (org.freedesktop.Notifications) over the user's
// D-Bus session bus, as GNOME, KDE, XFCE, dunst and mako serve it.
package notify

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	"github.com/godbus/dbus/v5"
)

// The service's names (Desktop Notifications Specification 1.2).
const (
	serviceName = "org.freedesktop.Notifications"
	objectPath  = "/org/freedesktop/Notifications"
	methodName  = serviceName + ".Notify"
	appName     = "lanchat"
)

// Limits of what is sent: a notification is a glance, not the message.
const (
	maxSummary = 100
	maxBody    = 300
)

// ErrNoBus is returned by Open when there is no session bus to reach.
var ErrNoBus = errors.New("no D-Bus session bus")

// Notifier sends notifications on one connection to the session bus.
type Notifier struct {
	conn *dbus.Conn
}

// Open connects to the session bus named by DBUS_SESSION_BUS_ADDRESS.
func Open() (*Notifier, error) {
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		return nil, fmt.Errorf("%w: DBUS_SESSION_BUS_ADDRESS is not set", ErrNoBus)
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", ErrNoBus, addr, err)
	}
	return &Notifier{conn: conn}, nil
}

// Notify shows summary and body (plain text: control characters are
// dropped and markup is escaped, since servers read the body as markup).
func (n *Notifier) Notify(summary, body string) error {
	obj := n.conn.Object(serviceName, objectPath)
	call := obj.Call(methodName, 0, appName, uint32(0), "", clip(plain(summary), maxSummary),
		escape(clip(plain(body), maxBody)), []string{}, map[string]dbus.Variant{}, int32(-1))
	if call.Err != nil {
		return fmt.Errorf("desktop notification: %w", call.Err)
	}
	return nil
}

// Close ends the connection.
func (n *Notifier) Close() error { return n.conn.Close() }

// plain drops control and format characters (a peer's text may hold any).
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' {
			return ' '
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
}

// clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && s[cut]&0xc0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// escape makes text safe for the body's markup (the spec's subset of
// HTML): &, < and > as entities.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
