package runner_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/os2mo-cdc/mocdc/deploy/local/testenv"
	"github.com/os2mo-cdc/mocdc/sinks/runner"
	"github.com/os2mo-cdc/mocdc/sinks/runner/runnertest"
)

// staticHelperEnv carries a staticSpec to TestStaticHelperProcess.
const staticHelperEnv = "MOCDC_RUNNER_STATIC_HELPER"

type staticSpec struct {
	Brokers        []string
	Group, Topic   string
	DLQ            string
	InstanceID     string
	SessionTimeout time.Duration
}

// TestStaticHelperProcess is not a test: it is the child process of
// TestStaticMemberTakesItsPartitionsBackAfterKill, a runner that prints
// "partitions N" whenever the number of partitions it owns changes.
func TestStaticHelperProcess(t *testing.T) {
	raw := os.Getenv(staticHelperEnv)
	if raw == "" {
		return // not a helper run (this is not a skip: there is nothing to test)
	}
	var s staticSpec
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(runner.Config{Group: s.Group, MaxWait: 20 * time.Millisecond, SessionTimeout: s.SessionTimeout}, runnertest.NewMemSink(),
		runner.Deps{Name: "static", Topics: []string{s.Topic}, DeadLetterTopic: s.DLQ, InstanceID: s.InstanceID,
			KafkaOpts: []kgo.Opt{kgo.SeedBrokers(s.Brokers...)}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		last := -1
		for {
			if n := r.Stats().Partitions; n != last {
				fmt.Printf("partitions %d\n", n)
				last = n
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestStaticMemberTakesItsPartitionsBackAfterKill: an instance with an
// instance id, killed with SIGKILL and started again under the same id,
// owns its partitions again long before the group could have timed out
// the dead member's session (30 s here): without static membership the
// new member would wait for that.
func TestStaticMemberTakesItsPartitionsBackAfterKill(t *testing.T) {
	prefix := testenv.UniqueTopicPrefix(t)
	brokers := testenv.KafkaBrokers(t)
	topic, dlq := prefix+"objects", prefix+"dlq"
	testenv.CreateTopics(t, 3, nil, topic, dlq)
	spec, _ := json.Marshal(staticSpec{Brokers: brokers, Group: prefix + "g", Topic: topic, DLQ: dlq, InstanceID: "mirror-0", SessionTimeout: 30 * time.Second})

	start := func() (*exec.Cmd, <-chan int) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStaticHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), staticHelperEnv+"="+string(spec))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		parts := make(chan int, 100)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var n int
				if _, err := fmt.Sscanf(sc.Text(), "partitions %d", &n); err == nil {
					parts <- n
				}
			}
			close(parts)
		}()
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd, parts
	}
	owns := func(parts <-chan int, within time.Duration) (time.Duration, bool) {
		began := time.Now()
		deadline := time.After(within)
		for {
			select {
			case n, ok := <-parts:
				if !ok {
					return 0, false
				}
				if n == 3 {
					return time.Since(began), true
				}
			case <-deadline:
				return 0, false
			}
		}
	}

	first, parts := start()
	if _, ok := owns(parts, 90*time.Second); !ok {
		t.Fatal("the first instance never owned the 3 partitions")
	}
	_ = first.Process.Kill() // SIGKILL: no LeaveGroup, the member stays in the group
	_ = first.Wait()
	_, parts = start()
	took, ok := owns(parts, 20*time.Second)
	if !ok {
		t.Fatal("the restarted instance did not own the partitions within 20 s of its start (session timeout 30 s): it did not take the dead member's place")
	}
	t.Logf("restarted static member owned its partitions %s after its start", took.Round(time.Millisecond))
}

// TestTwoLiveInstancesWithOneIDFence: a second running instance with the
// same instance id takes the first one's place; the first one's Run ends
// with an error that says what to change (it does not keep fighting for
// the id).
func TestTwoLiveInstancesWithOneIDFence(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	prefix := testenv.UniqueTopicPrefix(t)
	brokers := testenv.KafkaBrokers(t)
	topic, dlq := prefix+"objects", prefix+"dlq"
	testenv.CreateTopics(t, 3, nil, topic, dlq)
	newRunner := func() *runner.Runner {
		r, err := runner.New(runner.Config{Group: prefix + "g", MaxWait: 20 * time.Millisecond}, runnertest.NewMemSink(),
			runner.Deps{Name: "static", Topics: []string{topic}, DeadLetterTopic: dlq, InstanceID: "same",
				KafkaOpts: []kgo.Opt{kgo.SeedBrokers(brokers...)}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := newRunner()
	aDone := make(chan error, 1)
	go func() { aDone <- a.Run(ctx) }()
	for deadline := time.Now().Add(90 * time.Second); a.Stats().Partitions == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first instance never got partitions")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b := newRunner()
	bctx, bstop := context.WithCancel(ctx)
	bDone := make(chan error, 1)
	go func() { bDone <- b.Run(bctx) }()
	select {
	case err := <-aDone:
		if err == nil || !strings.Contains(err.Error(), "instance_id") || !strings.Contains(err.Error(), `"same"`) {
			t.Fatalf("the fenced instance's Run returned %v; want an error naming the instance id and instance_id", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the first instance kept running after a second one took its instance id")
	}
	_ = a.Close(ctx)
	for deadline := time.Now().Add(60 * time.Second); b.Stats().Partitions != 3; {
		if time.Now().After(deadline) {
			t.Fatalf("the second instance owns %d of 3 partitions after the first was fenced", b.Stats().Partitions)
		}
		time.Sleep(50 * time.Millisecond)
	}
	bstop()
	if err := <-bDone; err != nil {
		t.Fatalf("second instance: %v", err)
	}
	_ = b.Close(ctx)
}
