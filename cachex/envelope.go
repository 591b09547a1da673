package cachex

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"
)

// Compression names the algorithm applied to encoded values above the
// compression threshold.
type Compression uint8

// Compression algorithms. A value is kept compressed only when that makes it
// smaller.
const (
	// CompressionNone stores values as encoded.
	CompressionNone Compression = 0
	// CompressionS2 uses S2 (a faster Snappy extension): the default.
	CompressionS2 Compression = 1
	// CompressionZstd uses Zstandard: smaller output, more CPU.
	CompressionZstd Compression = 2
)

// String returns the algorithm's name.
func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case CompressionS2:
		return "s2"
	case CompressionZstd:
		return "zstd"
	}
	return fmt.Sprintf("compression(%d)", uint8(c))
}

// Envelope layout (big endian):
//
//	0..2   magic "\xc0cx" (0xc0 is a complete msgpack nil, so no valid msgpack
//	       or JSON document starts this way followed by more bytes)
//	3      version (1)
//	4      codec (1 = msgpack)
//	5      compression
//	6      flags (bit 0: not-found marker)
//	7      number of tags
//	8..15  soft expiry, Unix milliseconds
//	16..23 hard expiry, Unix milliseconds
//	24..27 CRC-32C of everything after the header
//	28..   tags (uvarint length, name, uvarint version), then the payload
const (
	envMagic0, envMagic1, envMagic2 = 0xc0, 'c', 'x'
	envVersion                      = 1
	codecMsgpack                    = 1
	envHeaderLen                    = 28
	flagNotFound                    = 1
	maxTags                         = 255
	// maxDecoded bounds what a decompressed value may grow to, so a hostile
	// or corrupt value cannot exhaust memory.
	maxDecoded = 64 << 20
)

// errCorrupt is returned for values that are not cachex envelopes, or are
// damaged. Callers treat it as a miss and delete the value.
var errCorrupt = errors.New("cachex: foreign or corrupt value")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// tagRef is a tag and the version of its namespace when the value was stored.
type tagRef struct {
	name string
	ver  uint64
}

// header is the decoded fixed part of an envelope.
type header struct {
	comp     Compression
	notFound bool
	soft     int64 // Unix ms
	hard     int64 // Unix ms
	tags     []tagRef
}

// codecs holds the compressors and a pool of msgpack decoders; a zero
// codecs handles S2 and none.
type codecs struct {
	zenc *zstd.Encoder
	zdec *zstd.Decoder
	decs sync.Pool // *decoder
}

// decoder is a msgpack decoder with the reader it reads from, pooled so
// that decoding a value allocates nothing of its own.
type decoder struct {
	r bytes.Reader
	d *msgpack.Decoder
}

// unmarshal decodes the msgpack value in b into v.
func (c *codecs) unmarshal(b []byte, v any) error {
	dec, _ := c.decs.Get().(*decoder)
	if dec == nil {
		dec = &decoder{}
		dec.d = msgpack.NewDecoder(&dec.r)
	}
	dec.r.Reset(b)
	dec.d.Reset(&dec.r)
	err := dec.d.Decode(v)
	dec.r.Reset(nil) // do not keep b alive from the pool
	c.decs.Put(dec)
	return err
}

func newCodecs(withZstd bool) (*codecs, error) {
	c := &codecs{}
	if !withZstd {
		return c, nil
	}
	var err error
	c.zenc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return nil, fmt.Errorf("cachex: zstd encoder: %w", err)
	}
	c.zdec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxDecoded))
	if err != nil {
		_ = c.zenc.Close()
		return nil, fmt.Errorf("cachex: zstd decoder: %w", err)
	}
	return c, nil
}

func (c *codecs) close() {
	if c.zenc != nil {
		_ = c.zenc.Close()
		c.zdec.Close()
	}
}

// encodeEnvelope wraps payload in an envelope, compressing it with comp when
// it is at least threshold bytes long and compression makes it smaller.
func (c *codecs) encodeEnvelope(h header, payload []byte, comp Compression, threshold int) []byte {
	body := payload
	h.comp = CompressionNone
	if comp != CompressionNone && len(payload) >= threshold {
		var z []byte
		switch comp {
		case CompressionS2:
			z = s2.Encode(nil, payload)
		case CompressionZstd:
			if c.zenc != nil {
				z = c.zenc.EncodeAll(payload, nil)
			}
		}
		if z != nil && len(z) < len(payload) {
			body, h.comp = z, comp
		}
	}
	n := envHeaderLen + len(body)
	for _, t := range h.tags {
		n += 2*binary.MaxVarintLen64 + len(t.name)
	}
	out := make([]byte, envHeaderLen, n)
	out[0], out[1], out[2] = envMagic0, envMagic1, envMagic2
	out[3] = envVersion
	out[4] = codecMsgpack
	out[5] = byte(h.comp)
	if h.notFound {
		out[6] = flagNotFound
	}
	out[7] = byte(len(h.tags))
	binary.BigEndian.PutUint64(out[8:], uint64(h.soft))
	binary.BigEndian.PutUint64(out[16:], uint64(h.hard))
	for _, t := range h.tags {
		out = binary.AppendUvarint(out, uint64(len(t.name)))
		out = append(out, t.name...)
		out = binary.AppendUvarint(out, t.ver)
	}
	out = append(out, body...)
	binary.BigEndian.PutUint32(out[24:], crc32.Checksum(out[envHeaderLen:], crcTable))
	return out
}

// decodeHeader checks an envelope and returns its header and the still
// compressed body. Anything unexpected is errCorrupt.
func decodeHeader(b []byte) (header, []byte, error) {
	var h header
	if len(b) < envHeaderLen || b[0] != envMagic0 || b[1] != envMagic1 || b[2] != envMagic2 {
		return h, nil, errCorrupt
	}
	if b[3] != envVersion || b[4] != codecMsgpack || b[6]&^flagNotFound != 0 {
		return h, nil, errCorrupt
	}
	h.comp = Compression(b[5])
	if h.comp > CompressionZstd {
		return h, nil, errCorrupt
	}
	h.notFound = b[6]&flagNotFound != 0
	h.soft = int64(binary.BigEndian.Uint64(b[8:]))
	h.hard = int64(binary.BigEndian.Uint64(b[16:]))
	if h.hard < h.soft {
		return h, nil, errCorrupt
	}
	if crc32.Checksum(b[envHeaderLen:], crcTable) != binary.BigEndian.Uint32(b[24:]) {
		return h, nil, errCorrupt
	}
	rest := b[envHeaderLen:]
	if nt := int(b[7]); nt > 0 {
		h.tags = make([]tagRef, nt)
		for i := range h.tags {
			l, n := binary.Uvarint(rest)
			if n <= 0 || l > uint64(len(rest)-n) {
				return h, nil, errCorrupt
			}
			rest = rest[n:]
			h.tags[i].name = string(rest[:l])
			rest = rest[l:]
			v, n := binary.Uvarint(rest)
			if n <= 0 {
				return h, nil, errCorrupt
			}
			h.tags[i].ver = v
			rest = rest[n:]
		}
	}
	if h.notFound && len(rest) != 0 {
		return h, nil, errCorrupt
	}
	return h, rest, nil
}

// decompress returns the payload of body compressed with comp.
func (c *codecs) decompress(comp Compression, body []byte) ([]byte, error) {
	switch comp {
	case CompressionNone:
		return body, nil
	case CompressionS2:
		n, err := s2.DecodedLen(body)
		if err != nil || n > maxDecoded {
			return nil, errCorrupt
		}
		out, err := s2.Decode(nil, body)
		if err != nil {
			return nil, errCorrupt
		}
		return out, nil
	case CompressionZstd:
		if c.zdec == nil {
			// Written by an instance configured with zstd; this one cannot
			// read it, which is no worse than a miss.
			return nil, errCorrupt
		}
		out, err := c.zdec.DecodeAll(body, nil)
		if err != nil || len(out) > maxDecoded {
			return nil, errCorrupt
		}
		return out, nil
	}
	return nil, errCorrupt
}
