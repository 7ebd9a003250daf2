package endpoint_test

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEEmbeddingExample checks that README.md shows, to the letter, the
// program in example_embed_test.go, which go test compiles and runs: the
// README's code cannot rot.
func TestREADMEEmbeddingExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_embed_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- embed example: endpoint/example_embed_test.go -->\n```go\n")
	if !ok {
		t.Fatal("README.md has no embedding example block")
	}
	block, _, _ = strings.Cut(block, "```\n")
	_, body, _ := strings.Cut(string(src), "// README begins\n")
	body, _, _ = strings.Cut(body, "// README ends\n")
	if block != body {
		t.Fatalf("README.md's embedding example differs from example_embed_test.go:\nREADME:\n%s\nexample:\n%s", block, body)
	}
}

// TestREADMEMiddlewareExample checks that README.md shows, to the letter, the
// middleware of example_middleware_test.go, which go test compiles and runs.
func TestREADMEMiddlewareExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_middleware_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- middleware example: endpoint/example_middleware_test.go -->\n```go\n")
	if !ok {
		t.Fatal("README.md has no middleware example block")
	}
	block, _, _ = strings.Cut(block, "```\n")
	_, body, _ := strings.Cut(string(src), "// README middleware begins\n")
	body, _, _ = strings.Cut(body, "// README middleware ends\n")
	if strings.TrimSpace(block) != strings.TrimSpace(body) || body == "" {
		t.Fatalf("README.md's middleware example differs from example_middleware_test.go:\nREADME:\n%s\nexample:\n%s", block, body)
	}
}

// TestREADMEPoolExample checks that README.md shows, to the letter, the Pool
// calls of example_pool_test.go (one tab of indentation less), which go test
// compiles and runs.
func TestREADMEPoolExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_pool_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- pool example: endpoint/example_pool_test.go -->\n```go\n")
	if !ok {
		t.Fatal("README.md has no pool example block")
	}
	block, _, _ = strings.Cut(block, "```\n")
	_, body, _ := strings.Cut(string(src), "// README pool begins\n")
	body, _, _ = strings.Cut(body, "\t// README pool ends\n")
	lines := strings.SplitAfter(body, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "\t")
	}
	if body = strings.Join(lines, ""); block != body || body == "" {
		t.Fatalf("README.md's pool example differs from example_pool_test.go:\nREADME:\n%s\nexample:\n%s", block, body)
	}
}
