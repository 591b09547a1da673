package password

import "testing"

// FuzzParseArgon2 checks that a stored hash can never ask for more than the
// bounded work.
func FuzzParseArgon2(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=7168,t=5,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=4294967295,t=4294967295,p=255$$", "$argon2id$$$$$", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseArgon2(s)
		if err != nil {
			return
		}
		if p.memory > 4*1024*1024 || p.iterations > 64 || p.parallelism == 0 || len(p.key) > 64 || len(p.salt) > 64 {
			t.Fatalf("parseArgon2(%q) = %+v; beyond the bounds", s, p)
		}
	})
}
