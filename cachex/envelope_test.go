package cachex

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	cd, err := newCodecs(true)
	if err != nil {
		t.Fatal(err)
	}
	defer cd.close()
	small := []byte("hello")
	large := bytes.Repeat([]byte("abcdefgh"), 1000)
	random := make([]byte, 4096)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(random)
	tests := []struct {
		name     string
		payload  []byte
		comp     Compression
		wantComp Compression
		tags     []tagRef
		notFound bool
	}{
		{"small none", small, CompressionNone, CompressionNone, nil, false},
		{"small s2 under threshold", small, CompressionS2, CompressionNone, nil, false},
		{"large s2", large, CompressionS2, CompressionS2, nil, false},
		{"large zstd", large, CompressionZstd, CompressionZstd, nil, false},
		{"incompressible stays raw", random, CompressionS2, CompressionNone, nil, false},
		{"tags", large, CompressionS2, CompressionS2, []tagRef{{"a", 1}, {"users:42", 1 << 60}}, false},
		{"not found", nil, CompressionS2, CompressionNone, []tagRef{{"t", 3}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := header{soft: 1000, hard: 2000, tags: tt.tags, notFound: tt.notFound}
			env := cd.encodeEnvelope(h, tt.payload, tt.comp, 1024)
			got, body, err := decodeHeader(env)
			if err != nil {
				t.Fatalf("decodeHeader: %v", err)
			}
			if got.comp != tt.wantComp || got.soft != 1000 || got.hard != 2000 || got.notFound != tt.notFound {
				t.Fatalf("header = %+v; want comp %v", got, tt.wantComp)
			}
			if len(got.tags) != len(tt.tags) {
				t.Fatalf("tags = %v; want %v", got.tags, tt.tags)
			}
			for i := range tt.tags {
				if got.tags[i] != tt.tags[i] {
					t.Fatalf("tag %d = %v; want %v", i, got.tags[i], tt.tags[i])
				}
			}
			payload, err := cd.decompress(got.comp, body)
			if err != nil {
				t.Fatalf("decompress: %v", err)
			}
			if !bytes.Equal(payload, tt.payload) {
				t.Fatalf("payload differs after round trip")
			}
		})
	}
}

func TestEnvelopeRejects(t *testing.T) {
	cd, _ := newCodecs(false)
	good := cd.encodeEnvelope(header{soft: 1, hard: 2}, []byte{0x01}, CompressionNone, 0)
	mut := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), good...)
		return f(b)
	}
	msgpackValue, _ := msgpack.Marshal(map[string]any{"id": 1})
	s2env := cd.encodeEnvelope(header{soft: 1, hard: 2}, bytes.Repeat([]byte("x"), 2000), CompressionS2, 10)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"json", []byte(`{"id":1,"name":"a long enough json document"}`)},
		{"foreign msgpack", msgpackValue},
		{"truncated header", good[:10]},
		{"bad magic", mut(func(b []byte) []byte { b[1] = 'C'; return b })},
		{"bad version", mut(func(b []byte) []byte { b[3] = 9; return b })},
		{"bad codec", mut(func(b []byte) []byte { b[4] = 2; return b })},
		{"bad compression", mut(func(b []byte) []byte { b[5] = 7; return b })},
		{"unknown flag", mut(func(b []byte) []byte { b[6] = 0x80; return b })},
		{"hard before soft", mut(func(b []byte) []byte { b[23] = 0; return b })},
		{"flipped payload bit", mut(func(b []byte) []byte { b[len(b)-1] ^= 1; return b })},
		{"truncated payload", good[:len(good)-1]},
		{"tag count without tags", mut(func(b []byte) []byte { b[7] = 3; return b })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body, err := decodeHeader(tt.b)
			if err == nil {
				_, err = cd.decompress(CompressionNone, body)
			}
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("decode(%q) error = %v; want errCorrupt", tt.b, err)
			}
		})
	}
	t.Run("zstd without decoder", func(t *testing.T) {
		if _, err := cd.decompress(CompressionZstd, []byte{1}); !errors.Is(err, errCorrupt) {
			t.Fatalf("err = %v; want errCorrupt", err)
		}
	})
	t.Run("s2 garbage", func(t *testing.T) {
		h, body, err := decodeHeader(s2env)
		if err != nil || h.comp != CompressionS2 {
			t.Fatalf("setup: %v %v", h.comp, err)
		}
		if _, err := cd.decompress(CompressionS2, body[:len(body)/2]); !errors.Is(err, errCorrupt) {
			t.Fatalf("err = %v; want errCorrupt", err)
		}
	})
	if got := Compression(9).String(); !strings.Contains(got, "9") {
		t.Errorf("Compression(9).String() = %q", got)
	}
	for _, c := range []Compression{CompressionNone, CompressionS2, CompressionZstd} {
		if c.String() == "" {
			t.Errorf("%d has no name", c)
		}
	}
}

// FuzzDecodeEnvelope checks that no input makes the decoder panic or
// return garbage: whatever it accepts must re-encode to the same header.
func FuzzDecodeEnvelope(f *testing.F) {
	cd, err := newCodecs(true)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(cd.close)
	payload, _ := msgpack.Marshal(user{ID: 1, Name: "ann", Tags: []string{"a", "b"}})
	f.Add(cd.encodeEnvelope(header{soft: 5, hard: 9}, payload, CompressionNone, 0))
	f.Add(cd.encodeEnvelope(header{soft: 5, hard: 9, tags: []tagRef{{"x", 7}}}, bytes.Repeat(payload, 50), CompressionS2, 10))
	f.Add(cd.encodeEnvelope(header{soft: 5, hard: 9}, bytes.Repeat(payload, 50), CompressionZstd, 10))
	f.Add(cd.encodeEnvelope(header{soft: 5, hard: 5, notFound: true}, nil, CompressionNone, 0))
	f.Add([]byte("\xc0cx"))
	f.Add([]byte(`{"json":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &Cache[user]{codecs: cd}
		e, err := c.decodeEntry(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v is not errCorrupt", err)
			}
			return
		}
		if e.hard < e.soft {
			t.Fatalf("accepted hard %d < soft %d", e.hard, e.soft)
		}
	})
}

// FuzzDecodePayload wraps arbitrary bytes in a valid envelope, so the
// checksum does not stop them, and checks that decoding them into a struct
// fails cleanly or succeeds, never panics.
func FuzzDecodePayload(f *testing.F) {
	cd, err := newCodecs(false)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := msgpack.Marshal(user{ID: 1, Name: "ann", Email: "a@example.com", Tags: []string{"a", "b"}, Score: 1.5})
	f.Add(good)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff}) // array32 of 2^32-1 elements
	f.Add([]byte{0xdb, 0x7f, 0xff, 0xff, 0xff}) // str32 of 2^31-1 bytes
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, payload []byte) {
		c := &Cache[user]{codecs: cd}
		env := cd.encodeEnvelope(header{soft: 1, hard: 2}, payload, CompressionNone, 0)
		e, err := c.decodeEntry(env)
		if err != nil && !errors.Is(err, errCorrupt) {
			t.Fatalf("error %v is not errCorrupt", err)
		}
		if err == nil && e == nil {
			t.Fatal("nil entry without error")
		}
	})
}
