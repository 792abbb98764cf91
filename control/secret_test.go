package control

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// No control method hands out secret key material: the answers to every
// method that takes no parameters contain neither half of the secret, in
// hex or base64.
func TestControlNeverReturnsSecrets(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	h := serveControl(t, c, alice, DefaultServerConfig())
	secret := alice.id.MarshalSecret()
	var needles []string
	for _, half := range [][]byte{secret[:32], secret[32:]} {
		needles = append(needles, hex.EncodeToString(half), base64.StdEncoding.EncodeToString(half)[:40])
	}
	for _, method := range []string{MethodID, MethodPeers, MethodTrusted, MethodRooms, MethodHistory} {
		answer := h.rawLine(`{"id":1,"method":"` + method + `"}`)
		if answer["error"] != nil {
			t.Fatalf("%s: %v", method, answer["error"])
		}
		b, err := json.Marshal(answer)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if strings.Contains(string(b), n) {
				t.Fatalf("%s answer contains secret key material", method)
			}
		}
	}
}
