package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// A baseline is this bench binary as built from an earlier commit of the
// repository: its servers are that commit's library, run in their own
// processes like this binary's, so old and new are measured in one run.
type baseline struct {
	Rev    string // as given to -baseline
	Commit string // the commit Rev names, in full
	Exe    string // the bench binary built from Commit
	dir    string // temporary directory holding the worktree and Exe
	top    string // top of the repository
	tree   string // the worktree, until it is removed
}

// buildBaseline checks out rev in a temporary detached worktree of the
// repository that holds the current directory (bench/), builds that
// worktree's bench binary with its own go.mod (so with the library of rev,
// through its replace ../), and removes the worktree again. The binary stays
// until Remove. Cancelling ctx stops the build.
func buildBaseline(ctx context.Context, rev string) (_ *baseline, err error) {
	top, err := git(ctx, ".", "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("-baseline %s: not in a git repository: %w", rev, err)
	}
	prefix, err := git(ctx, ".", "rev-parse", "--show-prefix") // "bench/"
	if err != nil {
		return nil, fmt.Errorf("-baseline %s: %w", rev, err)
	}
	commit, err := git(ctx, top, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("-baseline %s: not a commit of %s", rev, top)
	}
	b := &baseline{Rev: rev, Commit: commit, top: top}
	if _, err := git(ctx, top, "cat-file", "-e", commit+":"+prefix+"main.go"); err != nil {
		return nil, fmt.Errorf("-baseline %s (%s): that commit has no %smain.go to build", rev, b.Short(), prefix)
	}
	fmt.Fprintf(os.Stderr, "bench: -baseline %s is %s: building its %s in a temporary worktree\n", rev, b.Short(), prefix)
	b.dir, err = os.MkdirTemp("", "endpoint-bench-baseline-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil { // b, not the nil result
			b.Remove()
		}
	}()
	tree := filepath.Join(b.dir, "src")
	if _, err := git(ctx, top, "worktree", "add", "--detach", "--quiet", tree, commit); err != nil {
		return nil, fmt.Errorf("-baseline %s (%s): git worktree add: %w", rev, b.Short(), err)
	}
	b.tree = tree
	exe := filepath.Join(b.dir, "bench-base")
	build := exec.CommandContext(ctx, "go", "build", "-o", exe, ".")
	build.Dir = filepath.Join(tree, filepath.FromSlash(prefix))
	build.Env = append(os.Environ(), "GOWORK=off") // the worktree's go.mod and replace, nothing else
	out, berr := build.CombinedOutput()
	rerr := b.removeTree()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("-baseline %s (%s): build interrupted", rev, b.Short())
	case berr != nil:
		return nil, fmt.Errorf("-baseline %s (%s): its bench binary does not build: %s", rev, b.Short(), firstBuildError(out, berr))
	case rerr != nil:
		return nil, rerr
	}
	b.Exe = exe
	return b, nil
}

// Short is the commit's hash abbreviated to 12 digits.
func (b *baseline) Short() string { return b.Commit[:min(12, len(b.Commit))] }

// Remove removes the worktree, if it is still there, and the binary.
func (b *baseline) Remove() error {
	err := b.removeTree()
	if b.dir != "" {
		if rerr := os.RemoveAll(b.dir); err == nil {
			err = rerr
		}
	}
	return err
}

// removeTree removes the worktree, and git's record of it, if not done yet.
func (b *baseline) removeTree() error {
	if b.tree == "" {
		return nil
	}
	// Not ctx: the worktree is removed even when the run was interrupted.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := git(ctx, b.top, "worktree", "remove", "--force", b.tree)
	if err != nil {
		// Remove the files, then let git forget a worktree that is gone.
		os.RemoveAll(b.tree)
		if _, perr := git(ctx, b.top, "worktree", "prune"); perr == nil {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("remove the baseline worktree %s: %w", b.tree, err)
	}
	b.tree = ""
	return nil
}

// git runs git in dir and returns its standard output, trimmed; an error
// carries git's standard error.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = errors.New(oneLine(msg))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// firstBuildError sums up go build's output in one line: its first line
// that is not a "# package" header, and how many more there were.
func firstBuildError(out []byte, err error) string {
	var lines []string
	for l := range strings.Lines(string(out)) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	switch len(lines) {
	case 0:
		return err.Error()
	case 1:
		return lines[0]
	}
	more := "lines"
	if len(lines) == 2 {
		more = "line"
	}
	return fmt.Sprintf("%s (and %d more %s)", lines[0], len(lines)-1, more)
}

// oneLine joins the lines of s with "; ".
func oneLine(s string) string {
	return strings.Join(strings.Split(strings.TrimSpace(s), "\n"), "; ")
}
