package control

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/lanchat/lanchat/internal/fuzzseed"
)

func FuzzControlRequest(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "FuzzControlRequest") {
		f.Add(s)
	}
	norm := func(raw json.RawMessage) any { // the JSON value, however spelled
		if len(raw) == 0 {
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return "invalid: " + string(raw)
		}
		return v
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, cerr := parseRequest(line)
		if cerr != nil {
			if cerr.Code != CodeBadRequest || !validID(req.ID) {
				t.Fatalf("refused with %s and id %q", cerr.Code, req.ID)
			}
			return
		}
		for _, v := range []any{&HistoryParams{}, &FingerprintParams{}, &SendParams{}, &RoomParams{}} {
			_ = decodeParams(req.Params, v) // decodes or refuses; never panics
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encoding %q: %v", line, err)
		}
		again, cerr := parseRequest(b)
		if cerr != nil || again.Method != req.Method || !reflect.DeepEqual(norm(again.ID), norm(req.ID)) ||
			!reflect.DeepEqual(norm(again.Params), norm(req.Params)) {
			t.Fatalf("re-encoded request reads differently:\n in %s\nout %s (%v)", line, b, cerr)
		}
	})
}
