package main

import (
	"fmt"

	"github.com/endpoint-rpc/endpoint/handlers"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// protoCodec is the gRPC peer's codec. It writes and reads the protobuf wire
// format by hand (protowire), byte for byte what protoc-generated code would
// send for these messages:
//
//	message Text    { string s = 1; }
//	message Payload { int64 n = 1; string s = 2; map<string, int64> m = 3;
//	                  bytes p = 4; Payload c = 5; }
//
// so the gRPC figures are those of gRPC with protobuf, without generated code.
// Buffers are handled as grpc's own proto codec handles them.
type protoCodec struct{}

// textMsg is the message of the String call and of every reply.
type textMsg struct {
	S string
}

// maxNesting bounds the nesting of Payload values that Unmarshal accepts.
const maxNesting = 64

// Name is the codec's content-subtype.
func (protoCodec) Name() string { return "benchproto" }

// Marshal encodes a *textMsg or a *handlers.GobPayload.
func (protoCodec) Marshal(v any) (mem.BufferSlice, error) {
	var size int
	switch m := v.(type) {
	case *textMsg:
		size = sizeText(m)
	case *handlers.GobPayload:
		size = sizePayload(m)
	default:
		return nil, fmt.Errorf("benchproto: cannot marshal %T", v)
	}
	if mem.IsBelowBufferPoolingThreshold(size) {
		return mem.BufferSlice{mem.SliceBuffer(appendMsg(make([]byte, 0, size), v))}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	*buf = appendMsg((*buf)[:0], v)
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// appendMsg appends the encoding of v, which Marshal has checked, to b.
func appendMsg(b []byte, v any) []byte {
	if m, ok := v.(*textMsg); ok {
		return appendText(b, m)
	}
	return appendPayload(b, v.(*handlers.GobPayload))
}

// Unmarshal decodes into a *textMsg or a *handlers.GobPayload.
func (protoCodec) Unmarshal(data mem.BufferSlice, v any) error {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	b := buf.ReadOnlyData()
	switch m := v.(type) {
	case *textMsg:
		return unmarshalText(b, m)
	case *handlers.GobPayload:
		return unmarshalPayload(b, m, maxNesting)
	}
	return fmt.Errorf("benchproto: cannot unmarshal into %T", v)
}

func sizeText(m *textMsg) int {
	if m.S == "" {
		return 0
	}
	return protowire.SizeTag(1) + protowire.SizeBytes(len(m.S))
}

func appendText(b []byte, m *textMsg) []byte {
	if m.S != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, m.S)
	}
	return b
}

func unmarshalText(b []byte, m *textMsg) error {
	*m = textMsg{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			s, n := protowire.ConsumeString(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			m.S, b = s, b[n:]
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil
}

func sizeEntry(k string, v int) int {
	return protowire.SizeTag(1) + protowire.SizeBytes(len(k)) +
		protowire.SizeTag(2) + protowire.SizeVarint(uint64(v))
}

func sizePayload(m *handlers.GobPayload) int {
	n := 0
	if m.N != 0 {
		n += protowire.SizeTag(1) + protowire.SizeVarint(uint64(m.N))
	}
	if m.S != "" {
		n += protowire.SizeTag(2) + protowire.SizeBytes(len(m.S))
	}
	for k, v := range m.M {
		n += protowire.SizeTag(3) + protowire.SizeBytes(sizeEntry(k, v))
	}
	if len(m.P) > 0 {
		n += protowire.SizeTag(4) + protowire.SizeBytes(len(m.P))
	}
	if m.C != nil {
		n += protowire.SizeTag(5) + protowire.SizeBytes(sizePayload(m.C))
	}
	return n
}

func appendPayload(b []byte, m *handlers.GobPayload) []byte {
	if m.N != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(m.N))
	}
	if m.S != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, m.S)
	}
	for k, v := range m.M {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeEntry(k, v)))
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v))
	}
	if len(m.P) > 0 {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, m.P)
	}
	if m.C != nil {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizePayload(m.C)))
		b = appendPayload(b, m.C)
	}
	return b
}

func unmarshalPayload(b []byte, m *handlers.GobPayload, depth int) error {
	if depth <= 0 {
		return fmt.Errorf("benchproto: payload nested too deeply")
	}
	*m = handlers.GobPayload{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			m.N, b = int(v), b[n:]
		case num == 2 && typ == protowire.BytesType:
			s, n := protowire.ConsumeString(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			m.S, b = s, b[n:]
		case num == 3 && typ == protowire.BytesType:
			e, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			k, v, err := unmarshalEntry(e)
			if err != nil {
				return err
			}
			if m.M == nil {
				m.M = make(map[string]int)
			}
			m.M[k] = v
		case num == 4 && typ == protowire.BytesType:
			p, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			m.P, b = append([]byte(nil), p...), b[n:]
		case num == 5 && typ == protowire.BytesType:
			c, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			m.C = new(handlers.GobPayload)
			if err := unmarshalPayload(c, m.C, depth-1); err != nil {
				return err
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return nil
}

func unmarshalEntry(b []byte) (k string, v int, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", 0, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			s, n := protowire.ConsumeString(b)
			if n < 0 {
				return "", 0, protowire.ParseError(n)
			}
			k, b = s, b[n:]
		case num == 2 && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return "", 0, protowire.ParseError(n)
			}
			v, b = int(x), b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return "", 0, protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return k, v, nil
}
