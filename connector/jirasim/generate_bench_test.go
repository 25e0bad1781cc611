package jirasim

import "testing"

// Figures for the world model (go test -run XXX -bench 'Generate|CanSee|StateJSON' ./connector/jirasim/).

func BenchmarkGenerate10k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Generate(GenerateOptions{Seed: int64(i), Projects: 10, Issues: 10000})
	}
}

func BenchmarkCanSee10k(b *testing.B) {
	w := Generate(GenerateOptions{Seed: 1, Projects: 10, Issues: 10000})
	users := w.Users
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		iss := w.Issues[i%len(w.Issues)]
		w.CanSee(users[i%len(users)].AccountID, iss.Key, "")
	}
}

func BenchmarkStateJSON10k(b *testing.B) {
	w := Generate(GenerateOptions{Seed: 1, Projects: 10, Issues: 10000})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.SetBytes(int64(len(w.StateJSON())))
	}
}
