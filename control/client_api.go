package control

import (
	"context"

	"github.com/lanchat/lanchat/chat"
)

var _ API = (*Client)(nil)

// call is Call with a typed result.
func call[R any](ctx context.Context, c *Client, method string, params any) (R, error) {
	var r R
	err := c.Call(ctx, method, params, &r)
	return r, err
}

// Identity implements API.
func (c *Client) Identity(ctx context.Context) (*Identity, error) {
	return call[*Identity](ctx, c, MethodID, nil)
}

// History implements API.
func (c *Client) History(ctx context.Context, p HistoryParams) ([]*chat.MessageView, error) {
	return call[[]*chat.MessageView](ctx, c, MethodHistory, p)
}

// Peers implements API.
func (c *Client) Peers(ctx context.Context) ([]chat.PeerEntry, error) {
	return call[[]chat.PeerEntry](ctx, c, MethodPeers, nil)
}

// Trust implements API.
func (c *Client) Trust(ctx context.Context, p FingerprintParams) (*TrustResult, error) {
	return call[*TrustResult](ctx, c, MethodTrust, p)
}

// Untrust implements API.
func (c *Client) Untrust(ctx context.Context, fingerprint string) (*TrustedPeer, error) {
	return call[*TrustedPeer](ctx, c, MethodUntrust, FingerprintParams{Fingerprint: fingerprint})
}

// Trusted implements API.
func (c *Client) Trusted(ctx context.Context) ([]TrustedPeer, error) {
	return call[[]TrustedPeer](ctx, c, MethodTrusted, nil)
}

// CheckPassphrase implements API: the passphrase goes to the node over
// the socket, which only this user can reach.
func (c *Client) CheckPassphrase(ctx context.Context, passphrase []byte) error {
	return c.Call(ctx, MethodCheckPassphrase, PassphraseParams{Passphrase: string(passphrase)}, nil)
}

// Send implements API.
func (c *Client) Send(ctx context.Context, p SendParams) (*SendResult, error) {
	return call[*SendResult](ctx, c, MethodSend, p)
}

// Rooms implements API.
func (c *Client) Rooms(ctx context.Context) ([]string, error) {
	return call[[]string](ctx, c, MethodRooms, nil)
}

// Join implements API.
func (c *Client) Join(ctx context.Context, room string) (*RoomResult, error) {
	return call[*RoomResult](ctx, c, MethodJoin, RoomParams{Room: room})
}

// Leave implements API.
func (c *Client) Leave(ctx context.Context, room string) (*RoomResult, error) {
	return call[*RoomResult](ctx, c, MethodLeave, RoomParams{Room: room})
}

// SetNick implements API.
func (c *Client) SetNick(ctx context.Context, nick string) (*NickResult, error) {
	return call[*NickResult](ctx, c, MethodNick, NickParams{Nick: nick})
}

// WebLogin implements API.
func (c *Client) WebLogin(ctx context.Context) (*WebLoginResult, error) {
	return call[*WebLoginResult](ctx, c, MethodWebLogin, nil)
}

// Subscribe implements API, on a connection of its own that ends with ctx
// (or the node). The channel is closed then.
func (c *Client) Subscribe(ctx context.Context) (<-chan chat.Event, error) {
	sub, err := Dial(ctx, c.path)
	if err != nil {
		return nil, err
	}
	if err := sub.subscribe(ctx); err != nil {
		sub.Close()
		return nil, err
	}
	out := make(chan chat.Event, clientEventBuffer)
	go func() { // ends when ctx does (the connection is closed) or the node goes
		defer close(out)
		defer sub.Close()
		for {
			ev, err := sub.nextEvent(ctx)
			if err != nil {
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// Diagnose implements API.
func (c *Client) Diagnose(ctx context.Context, p DiagnoseParams) (*Diagnosis, error) {
	return call[*Diagnosis](ctx, c, MethodDiagnose, p)
}

// SendFile implements API.
func (c *Client) SendFile(ctx context.Context, p SendFileParams) (*chat.FileView, error) {
	return call[*chat.FileView](ctx, c, MethodSendFile, p)
}

// Fetch implements API.
func (c *Client) Fetch(ctx context.Context, p FetchParams) (*chat.FileView, error) {
	return call[*chat.FileView](ctx, c, MethodFetch, p)
}

// Files implements API.
func (c *Client) Files(ctx context.Context) ([]*chat.FileView, error) {
	return call[[]*chat.FileView](ctx, c, MethodFiles, nil)
}

// ChangePassphrase implements API: the passphrases go to the node over the
// socket, which only this user can reach.
func (c *Client) ChangePassphrase(ctx context.Context, p ChangePassphraseParams) (*PassphraseResult, error) {
	return call[*PassphraseResult](ctx, c, MethodChangePassphrase, p)
}

// Forget implements API.
func (c *Client) Forget(ctx context.Context, p ForgetParams) (*ForgetResult, error) {
	return call[*ForgetResult](ctx, c, MethodForget, p)
}

// Export implements API: the node writes the file.
func (c *Client) Export(ctx context.Context, p ExportParams) (*ExportResult, error) {
	return call[*ExportResult](ctx, c, MethodExport, p)
}

// Retention implements API.
func (c *Client) Retention(ctx context.Context) (*RetentionResult, error) {
	return call[*RetentionResult](ctx, c, MethodRetention, nil)
}

// SetRetention implements API.
func (c *Client) SetRetention(ctx context.Context, p RetentionParams) (*RetentionResult, error) {
	return call[*RetentionResult](ctx, c, MethodSetRetention, p)
}

// Delete implements API.
func (c *Client) Delete(ctx context.Context, p DeleteParams) (*DeleteResult, error) {
	return call[*DeleteResult](ctx, c, MethodDelete, p)
}
