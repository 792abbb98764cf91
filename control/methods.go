package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// method runs one request against the API the server serves.
type method func(ctx context.Context, api API, params json.RawMessage) (any, error)

// methods are the request methods besides subscribe.
var methods = map[string]method{
	MethodID:      func(ctx context.Context, a API, _ json.RawMessage) (any, error) { return a.Identity(ctx) },
	MethodPeers:   func(ctx context.Context, a API, _ json.RawMessage) (any, error) { return a.Peers(ctx) },
	MethodTrusted: func(ctx context.Context, a API, _ json.RawMessage) (any, error) { return a.Trusted(ctx) },
	MethodRooms:   func(ctx context.Context, a API, _ json.RawMessage) (any, error) { return a.Rooms(ctx) },
	MethodHistory: withParams(func(ctx context.Context, a API, p HistoryParams) (any, error) { return a.History(ctx, p) }),
	MethodTrust:   withParams(func(ctx context.Context, a API, p FingerprintParams) (any, error) { return a.Trust(ctx, p) }),
	MethodUntrust: withParams(func(ctx context.Context, a API, p FingerprintParams) (any, error) {
		return a.Untrust(ctx, p.Fingerprint)
	}),
	MethodSend:  withParams(func(ctx context.Context, a API, p SendParams) (any, error) { return a.Send(ctx, p) }),
	MethodJoin:  withParams(func(ctx context.Context, a API, p RoomParams) (any, error) { return a.Join(ctx, p.Room) }),
	MethodLeave: withParams(func(ctx context.Context, a API, p RoomParams) (any, error) { return a.Leave(ctx, p.Room) }),
	MethodCheckPassphrase: withParams(func(ctx context.Context, a API, p PassphraseParams) (any, error) {
		return nil, a.CheckPassphrase(ctx, []byte(p.Passphrase))
	}),
	MethodNick: withParams(func(ctx context.Context, a API, p NickParams) (any, error) { return a.SetNick(ctx, p.Nick) }),

	MethodReceipt:    withParams(func(ctx context.Context, a API, p ReceiptParams) (any, error) { return a.Receipt(ctx, p) }),
	MethodRoomStatus: func(ctx context.Context, a API, _ json.RawMessage) (any, error) { return a.RoomStatus(ctx) },
	MethodMarkRead: withParams(func(ctx context.Context, a API, p MarkReadParams) (any, error) {
		return a.MarkRead(ctx, p)
	}),
	MethodPresence: withParams(func(ctx context.Context, a API, p PresenceParams) (any, error) {
		return a.SetPresence(ctx, p)
	}),
	MethodTyping: withParams(func(ctx context.Context, a API, p RoomParams) (any, error) {
		return struct{}{}, a.Typing(ctx, p.Room)
	}),
	MethodDiagnose: withParams(func(ctx context.Context, a API, p DiagnoseParams) (any, error) {
		return a.Diagnose(ctx, p)
	}),
	// the web UI's login URL, from the node's web server
	MethodWebLogin: func(ctx context.Context, a API, _ json.RawMessage) (any, error) { return a.WebLogin(ctx) },
	MethodSendFile: withParams(func(ctx context.Context, a API, p SendFileParams) (any, error) {
		return a.SendFile(ctx, p)
	}),
	MethodFetch: withParams(func(ctx context.Context, a API, p FetchParams) (any, error) { return a.Fetch(ctx, p) }),
	MethodFiles: func(ctx context.Context, a API, _ json.RawMessage) (any, error) { return a.Files(ctx) },
	MethodChangePassphrase: withParams(func(ctx context.Context, a API, p ChangePassphraseParams) (any, error) {
		return a.ChangePassphrase(ctx, p)
	}),
	MethodForget:    withParams(func(ctx context.Context, a API, p ForgetParams) (any, error) { return a.Forget(ctx, p) }),
	MethodExport:    withParams(func(ctx context.Context, a API, p ExportParams) (any, error) { return a.Export(ctx, p) }),
	MethodRetention: func(ctx context.Context, a API, _ json.RawMessage) (any, error) { return a.Retention(ctx) },
	MethodSetRetention: withParams(func(ctx context.Context, a API, p RetentionParams) (any, error) {
		return a.SetRetention(ctx, p)
	}),
	MethodDelete: withParams(func(ctx context.Context, a API, p DeleteParams) (any, error) { return a.Delete(ctx, p) }),
}

// withParams decodes a method's params into P first.
func withParams[P any](f func(context.Context, API, P) (any, error)) method {
	return func(ctx context.Context, a API, params json.RawMessage) (any, error) {
		var p P
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return f(ctx, a, p)
	}
}

// call runs one method.
func (s *Server) call(ctx context.Context, name string, params json.RawMessage) (any, error) {
	m, ok := methods[name]
	if !ok {
		return nil, &Error{Code: CodeUnknownMethod, Message: fmt.Sprintf("unknown method %q", name)}
	}
	return m(ctx, s.api, params)
}

// decodeParams reads params into v; absent or null params leave v as it is.
// Unknown fields are refused, so a typo is not silently ignored.
func decodeParams(params json.RawMessage, v any) error {
	if len(params) == 0 || string(params) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Code: CodeInvalidParams, Message: "params: " + err.Error()}
	}
	return nil
}
