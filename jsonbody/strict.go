package jsonbody

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects.
const maxDepth = 1000

// smallObject is how many member names an object holds before its
// duplicate check moves from a linear scan to a map.
const smallObject = 16

type kind uint8

const (
	kAny    kind = iota // anything goes: a scalar, interface{}, an Unmarshaler
	kStruct             // members must be declared names
	kMap                // any member names; values per elem
	kArray              // elements per elem
)

// node is what the strict pass knows about a destination type.
type node struct {
	kind   kind
	fields map[string]*node // kStruct: JSON name → its node
	elem   *node            // kMap, kArray
}

var anyNode = &node{kind: kAny}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (d *Decoder) schema(t reflect.Type) *node {
	if n, ok := d.schemas.Load(t); ok {
		return n.(*node)
	}
	n := build(t, map[reflect.Type]*node{})
	d.schemas.Store(t, n)
	return n
}

// build follows encoding/json's rules for which JSON names a type accepts.
func build(t reflect.Type, seen map[reflect.Type]*node) *node {
	if n, ok := seen[t]; ok {
		return n
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) ||
		t.Implements(textUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return anyNode
	}
	switch t.Kind() {
	case reflect.Pointer:
		return build(t.Elem(), seen)
	case reflect.Map:
		n := &node{kind: kMap}
		seen[t] = n
		n.elem = build(t.Elem(), seen)
		return n
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(unmarshalerType) &&
			!reflect.PointerTo(t.Elem()).Implements(textUnmarshalerType) {
			return anyNode // []byte is a base64 string
		}
		fallthrough
	case reflect.Array:
		n := &node{kind: kArray}
		seen[t] = n
		n.elem = build(t.Elem(), seen)
		return n
	case reflect.Struct:
		n := &node{kind: kStruct, fields: map[string]*node{}}
		seen[t] = n
		for _, f := range structFields(t) {
			n.fields[f.name] = build(f.typ, seen)
		}
		return n
	}
	return anyNode
}

type field struct {
	name   string
	tagged bool
	depth  int
	typ    reflect.Type
}

// structFields lists the JSON members of struct type t: exported fields
// under their tag name or Go name, fields of untagged embedded structs
// promoted, and for a name found more than once the shallowest one, if it
// is alone or the only tagged one at its depth (otherwise none, as
// encoding/json does).
func structFields(t reflect.Type) []field {
	var all []field
	level := []reflect.Type{t}
	visited := map[reflect.Type]bool{}
	for depth := 0; len(level) > 0; depth++ {
		var next []reflect.Type
		for _, st := range level {
			if visited[st] {
				continue
			}
			visited[st] = true
			for i := range st.NumField() {
				sf := st.Field(i)
				ft := sf.Type
				if sf.Anonymous {
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if !validName(name) {
					name = ""
				}
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					next = append(next, ft)
					continue
				}
				f := field{name: name, tagged: name != "", depth: depth, typ: sf.Type}
				if name == "" {
					f.name = sf.Name
				}
				all = append(all, f)
			}
		}
		level = next
	}
	slices.SortStableFunc(all, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if a.depth != b.depth {
			return a.depth - b.depth
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return 0
	})
	out := all[:0]
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name {
			j++
		}
		group := all[i:j]
		// The group is sorted by depth, tagged first: the first one wins
		// unless the next one ties with it.
		if len(group) == 1 || group[1].depth > group[0].depth || (group[0].tagged && !group[1].tagged) {
			out = append(out, group[0])
		}
		i = j
	}
	return out
}

// validName reports whether a tag name is one encoding/json uses.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) {
			continue
		}
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return true
}

// scanner is the strict pass: it validates the JSON text (RFC 8259 and the
// I-JSON restrictions of RFC 7493: UTF-8, no lone surrogates, unique member
// names) and matches member names exactly against the destination type.
type scanner struct {
	data  []byte
	i     int
	depth int
	keys  [][]byte // member names of the open objects, innermost last
	path  []string // declared names from the root to here
	loose int      // > 0 inside a map or an undeclared value
}

func check(data []byte, n *node) error {
	if !utf8.Valid(data) {
		return fail(ErrSyntax, -1, "request body is not valid UTF-8")
	}
	s := scanner{data: data}
	s.ws()
	if s.i == len(data) {
		return fail(ErrSyntax, 0, "request body is empty")
	}
	if err := s.value(n); err != nil {
		return err
	}
	s.ws()
	if s.i != len(data) {
		return fail(ErrSyntax, int64(s.i), "request body has data after the JSON value")
	}
	return nil
}

func (s *scanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) syntax(what string) error {
	if s.i >= len(s.data) {
		return fail(ErrSyntax, int64(s.i), "request body is not valid JSON: it ends early")
	}
	return fail(ErrSyntax, int64(s.i), "request body is not valid JSON: "+what)
}

// where names the current place when every name on the way is declared.
func (s *scanner) where() string {
	if s.loose > 0 || len(s.path) == 0 {
		return ""
	}
	return strings.Join(s.path, ".")
}

func (s *scanner) value(n *node) error {
	if s.i >= len(s.data) {
		return s.syntax("")
	}
	switch c := s.data[s.i]; {
	case c == '{':
		return s.object(n)
	case c == '[':
		return s.array(n)
	case c == '"':
		_, err := s.str(false)
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return s.syntax("unexpected character")
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.i < len(lit) || string(s.data[s.i:s.i+len(lit)]) != lit {
		return s.syntax("unexpected character")
	}
	s.i += len(lit)
	return nil
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

func (s *scanner) number() error {
	if s.data[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.data) && s.data[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return s.syntax("bad number")
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.syntax("bad number")
		}
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.syntax("bad number")
		}
	}
	return nil
}

func (s *scanner) enter() error {
	s.depth++
	if s.depth > maxDepth {
		return fail(ErrSyntax, int64(s.i), "request body is nested too deeply")
	}
	s.i++
	return nil
}

func (s *scanner) array(n *node) error {
	if err := s.enter(); err != nil {
		return err
	}
	elem := anyNode
	if n.kind == kArray {
		elem = n.elem
	}
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		s.ws()
		if err := s.value(elem); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.data) {
			return s.syntax("")
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return nil
		default:
			return s.syntax("expected , or ]")
		}
	}
}

func (s *scanner) object(n *node) error {
	if err := s.enter(); err != nil {
		return err
	}
	mark := len(s.keys)
	var big map[string]struct{}
	defer func() { s.keys = s.keys[:mark] }()
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return s.syntax("expected a member name")
		}
		start := s.i
		key, err := s.str(true)
		if err != nil {
			return err
		}
		dup := false
		if big != nil {
			_, dup = big[string(key)]
			big[string(key)] = struct{}{}
		} else {
			for _, k := range s.keys[mark:] {
				if string(k) == string(key) {
					dup = true
					break
				}
			}
			s.keys = append(s.keys, key)
			if len(s.keys)-mark > smallObject {
				big = make(map[string]struct{}, 2*smallObject)
				for _, k := range s.keys[mark:] {
					big[string(k)] = struct{}{}
				}
			}
		}
		child, declared := anyNode, false
		switch n.kind {
		case kStruct:
			f, ok := n.fields[string(key)]
			if !ok {
				return s.unknown(start)
			}
			child, declared = f, true
		case kMap:
			child = n.elem
		}
		if dup {
			detail := "request body has a member more than once"
			if declared && s.loose == 0 {
				detail = "request body has member \"" + strings.Join(append(s.path[:len(s.path):len(s.path)], string(key)), ".") + "\" more than once"
			}
			return fail(ErrDuplicate, int64(start), detail)
		}
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return s.syntax("expected :")
		}
		s.i++
		s.ws()
		if declared {
			s.path = append(s.path, string(key))
		} else {
			s.loose++
		}
		if err := s.value(child); err != nil {
			return err
		}
		if declared {
			s.path = s.path[:len(s.path)-1]
		} else {
			s.loose--
		}
		s.ws()
		if s.i >= len(s.data) {
			return s.syntax("")
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			return s.syntax("expected , or }")
		}
	}
}

func (s *scanner) unknown(off int) error {
	detail := "request body has a member that is not accepted (member names are case-sensitive)"
	if w := s.where(); w != "" {
		detail = "request body has a member in \"" + w + "\" that is not accepted (member names are case-sensitive)"
	}
	return fail(ErrUnknownMember, int64(off), detail)
}

// str scans a string at s.i and, when want is set, returns its unescaped
// contents (aliasing data when there is no escape).
func (s *scanner) str(want bool) ([]byte, error) {
	s.i++
	start := s.i
	var buf []byte
	escaped := false
	for {
		if s.i >= len(s.data) {
			return nil, s.syntax("")
		}
		c := s.data[s.i]
		switch {
		case c == '"':
			s.i++
			if !escaped {
				return s.data[start : s.i-1], nil
			}
			return buf, nil
		case c < 0x20:
			return nil, s.syntax("control character in a string")
		case c != '\\':
			if escaped && want {
				buf = append(buf, c)
			}
			s.i++
			continue
		}
		if !escaped && want {
			buf = append(make([]byte, 0, 2*(s.i-start)+8), s.data[start:s.i]...)
		}
		escaped = true
		s.i++
		if s.i >= len(s.data) {
			return nil, s.syntax("")
		}
		var r rune
		switch s.data[s.i] {
		case '"', '\\', '/':
			r = rune(s.data[s.i])
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			at := s.i - 1
			r = s.hex4()
			if r < 0 {
				return nil, s.syntax("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				var r2 rune = -1
				if s.i+2 < len(s.data) && s.data[s.i+1] == '\\' && s.data[s.i+2] == 'u' {
					s.i += 2
					r2 = s.hex4()
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					s.i = at
					return nil, fail(ErrSyntax, int64(at), "request body has a lone surrogate escape")
				}
			}
		default:
			return nil, s.syntax("bad escape")
		}
		if want {
			buf = utf8.AppendRune(buf, r)
		}
		s.i++
	}
}

// hex4 reads the four hex digits after the u at s.i, leaving s.i on the
// last, or returns -1.
func (s *scanner) hex4() rune {
	if len(s.data)-s.i < 5 {
		return -1
	}
	var r rune
	for _, c := range s.data[s.i+1 : s.i+5] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	s.i += 4
	return r
}

// decode runs encoding/json once the strict pass has passed: names are
// exact by then, so its case-insensitive fallback never applies.
func decode(data []byte, dst any, n *node) error {
	err := json.Unmarshal(data, dst)
	if err == nil {
		return nil
	}
	if te, ok := asType[*json.UnmarshalTypeError](err); ok {
		detail := "request body has a value of the wrong type"
		if te.Field != "" && declaredPath(n, te.Field) {
			detail = "member \"" + te.Field + "\" has the wrong type"
		}
		e := fail(ErrValue, te.Offset, detail)
		e.cause = err
		return e
	}
	if _, ok := asType[*json.SyntaxError](err); ok { // the strict pass is stricter: cannot happen
		e := fail(ErrSyntax, -1, "request body is not valid JSON")
		e.cause = err
		return e
	}
	if _, ok := asType[*json.InvalidUnmarshalError](err); ok {
		return err
	}
	// A field's UnmarshalJSON or UnmarshalText refused its value.
	e := fail(ErrValue, -1, "request body has an invalid value")
	e.cause = err
	return e
}

// declaredPath reports whether a dotted path from encoding/json names only
// struct members, so it holds no name the client made up.
func declaredPath(n *node, path string) bool {
	for seg := range strings.SplitSeq(path, ".") {
		for n.kind == kArray {
			n = n.elem
		}
		if n.kind != kStruct {
			return false
		}
		next, ok := n.fields[seg]
		if !ok {
			return false
		}
		n = next
	}
	return true
}
