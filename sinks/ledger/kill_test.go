package ledger

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/schema/event"
)

// Environment of a builder child process (see TestMain).
const (
	envChild      = "MOCDC_LEDGER_TEST_CHILD"       // topic prefix of the child's ledger
	envChildKey   = "MOCDC_LEDGER_TEST_CHILD_KEY"   // private key file
	envChildPause = "MOCDC_LEDGER_TEST_CHILD_PAUSE" // "1": stop for good between produce and commit
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// runChild runs a builder in this process until it is killed. With the
// pause flag it prints FLUSHED when its first batch is produced and
// flushed, and then waits forever inside the open transaction: the parent
// kills it exactly between produce and commit.
func runChild() int {
	key, err := LoadPrivateKey(os.Getenv(envChildKey))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	brokers := strings.Split(os.Getenv("MOCDC_TEST_KAFKA"), ",")
	b, err := NewBuilder(builderConfig(), Deps{KafkaOpts: []kgo.Opt{kgo.SeedBrokers(brokers...)},
		Topics: event.Topics{Prefix: os.Getenv(envChild)}, Key: key})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if os.Getenv(envChildPause) == "1" {
		b.afterFlush = func() {
			fmt.Println("FLUSHED")
			select {}
		}
	}
	if err := b.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestBuilderSurvivesKills: while synthetic capture transactions keep
// arriving (some aborted, some abandoned by a killed producer), the builder
// is killed with SIGKILL twelve times — six of them between producing a
// batch and committing it, six at random moments. Afterwards the ledger
// still holds exactly one entry per committed event, no gaps, in source
// order per object, and verifies.
func TestBuilderSurvivesKills(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	env := newKafkaEnv(t)
	s := newSynth(env.topics, 3, 80)
	p := newProducer(t, env)
	if err := p.publish(ctx, s.initial(t), commitTxn); err != nil {
		t.Fatal(err)
	}
	priv, pubPath, err := GenerateKeyPair(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key, err := LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}

	// Capture keeps publishing during the whole test.
	var mu sync.Mutex
	stopPublishing := make(chan struct{})
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := 0; ; i++ {
			select {
			case <-stopPublishing:
				return
			case <-time.After(time.Duration(5+rand.IntN(20)) * time.Millisecond):
			}
			mu.Lock()
			recs, done := s.txn(t)
			end := commitTxn
			switch {
			case i%40 == 39:
				end = abandonTxn
			case i%10 == 9:
				end = abortTxn
			}
			err := p.publish(ctx, recs, end)
			done(err == nil && end == commitTxn)
			mu.Unlock()
			if err != nil {
				t.Errorf("publish: %v", err)
				return
			}
		}
	}()

	betweenProduceAndCommit := 0
	for round := range 12 {
		pause := round%2 == 0
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envChild+"="+env.topics.Prefix, envChildKey+"="+priv)
		if pause {
			cmd.Env = append(cmd.Env, envChildPause+"=1")
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		flushed := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if sc.Text() == "FLUSHED" {
					close(flushed)
				}
			}
		}()
		if pause {
			select {
			case <-flushed:
				betweenProduceAndCommit++
			case <-time.After(time.Minute):
				t.Fatalf("round %d: the builder produced nothing within a minute; stderr:\n%s", round, stderr.String())
			}
		} else {
			time.Sleep(time.Duration(300+rand.IntN(2500)) * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: builder exited by itself (%v) before it was killed; stderr:\n%s", round, err, stderr.String())
		}
		t.Logf("round %d: killed (between produce and commit: %v); ledger has %d records", round, pause, len(env.readLedger(t)))
	}
	close(stopPublishing)
	<-published
	if betweenProduceAndCommit < 6 {
		t.Fatalf("only %d kills between produce and commit", betweenProduceAndCommit)
	}

	// A last builder catches up; then the ledger must be exact.
	mu.Lock()
	defer mu.Unlock()
	stop := start(t, env.newBuilder(t, builderConfig(), key, nil))
	recs := env.waitEntries(t, len(s.want), 3*time.Minute)
	stop()
	pubKey, err := LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	env.checkLedger(t, s, recs, pubKey)
	t.Logf("%d events (%d aborted or abandoned) → %d ledger records after 12 kills", len(s.want), countAborted(s), len(recs))
}

func countAborted(s *synth) int {
	n := 0
	for _, why := range s.noEntry {
		if why == "aborted" {
			n++
		}
	}
	return n
}
