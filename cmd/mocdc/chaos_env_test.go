package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// chaosServices is a private set of the local services (PostgreSQL, Kafka,
// MariaDB, the Samba AD DC, OpenSMTPD) that only the chaos test uses, on
// ports of its own, so that killing the broker, a database, the DC or the
// SMTP server never touches the other tests' shared instances.
// deploy/local/services starts and restarts them. AD's ports are fixed:
// the private DC binds a loopback address of its own (chaosADAddr); each
// OpenSMTPD runs in a mount namespace with its own spool.
type chaosServices struct {
	t      *testing.T
	data   string
	script string
	env    map[string]string // what the services' env file exports
	ports  map[string]string // MOCDC_*_PORT overrides
	adAddr string            // MOCDC_AD_ADDR: the private DC's address
}

// chaosServiceNames are the private services, in start order.
var chaosServiceNames = []string{"postgres", "kafka", "mariadb", "samba", "smtp"}

func startChaosServices(t *testing.T, data string) *chaosServices {
	script, err := filepath.Abs("../../deploy/local/services")
	if err != nil {
		t.Fatal(err)
	}
	// Ports of their own, free now: two chaos runs at once (developers
	// working side by side) never meet.
	s := &chaosServices{t: t, data: data, script: script, ports: map[string]string{}, adAddr: chaosADAddr(t)}
	for _, k := range []string{"MOCDC_PG_PORT", "MOCDC_KAFKA_PORT", "MOCDC_KAFKA_CONTROLLER_PORT", "MOCDC_KAFKA_SECURE_PORT", "MOCDC_MARIADB_PORT", "MOCDC_SMTP_PORT"} {
		s.ports[k] = freePort(t)
	}
	// Always from scratch: a run that failed keeps its data for reading, and
	// a new run must not see its topics, slot or databases.
	if _, err := os.Stat(data); err == nil {
		s.run(append([]string{"down"}, chaosServiceNames...)...)
		if err := os.RemoveAll(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.run(append([]string{"down"}, chaosServiceNames...)...)
		// The script gave lo the DC's address; nothing else uses it.
		_ = exec.Command("ip", "addr", "del", s.adAddr+"/32", "dev", "lo").Run()
		if !t.Failed() {
			_ = os.RemoveAll(data)
		}
	})
	s.run(append([]string{"up"}, chaosServiceNames...)...)
	s.env = map[string]string{}
	f, err := os.Open(filepath.Join(data, "env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		s.env[k] = strings.Trim(v, "'")
	}
	return s
}

// run calls the services script for the private set.
func (s *chaosServices) run(args ...string) {
	cmd := exec.Command(s.script, args...)
	// The private broker starts beside everything else make test runs: give
	// it more than the script's default 90 s on a loaded machine.
	cmd.Env = append(os.Environ(), "MOCDC_DATA="+s.data, "MOCDC_START_TIMEOUT=300", "MOCDC_AD_ADDR="+s.adAddr)
	for k, v := range s.ports {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("services %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// pidFiles of the private services' main processes.
func (s *chaosServices) pidFile(service string) string {
	switch service {
	case "postgres":
		return filepath.Join(s.data, "postgres", "data", "postmaster.pid")
	case "kafka":
		return filepath.Join(s.data, "kafka", "kafka.pid")
	case "mariadb":
		return filepath.Join(s.data, "mariadb", "mariadbd.pid")
	case "samba":
		return filepath.Join(s.data, "samba", "samba.pid")
	case "smtp":
		return filepath.Join(s.data, "smtp", "smtpd.pid")
	}
	s.t.Fatalf("no service %s", service)
	return ""
}

// kill9 kills a service's server with SIGKILL (no shutdown of its own) and
// waits until the process is gone. Samba and OpenSMTPD are killed as a
// whole process group (the script starts each with setsid), as a container
// would be: OpenSMTPD's children (queue, scheduler, the listener) die with
// it at once, not only when they notice their parent gone.
func (s *chaosServices) kill9(service string) {
	b, err := os.ReadFile(s.pidFile(service))
	if err != nil {
		s.t.Fatalf("pid of %s: %v", service, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		s.t.Fatalf("pid of %s: %v", service, err)
	}
	target := pid
	if service == "samba" || service == "smtp" {
		target = -pid
	}
	_ = syscall.Kill(target, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if err := syscall.Kill(target, 0); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// chaosADAddr picks the private DC's loopback address: the first of
// 127.0.0.2–254 (from an offset by pid, so runs side by side differ) where
// nothing answers on LDAP or LDAPS.
func chaosADAddr(t *testing.T) string {
	for i := 0; i < 253; i++ {
		addr := fmt.Sprintf("127.0.0.%d", 2+(os.Getpid()+i)%253)
		used := false
		for _, port := range []string{"389", "636"} {
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, port), time.Second); err == nil {
				c.Close()
				used = true
			}
		}
		if !used {
			return addr
		}
	}
	t.Fatal("no free loopback address for the chaos AD DC in 127.0.0.2-254")
	return ""
}

// restart starts a killed service again (the script waits until it serves).
func (s *chaosServices) restart(service string) { s.run("up", service) }

// proxy forwards TCP connections to a target; cut closes every open
// connection and refuses new ones until restore, as a network partition
// between one component and one service would.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]bool
	cut    bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.mu.Unlock()
		go p.pipe(c)
	}
}

func (p *proxy) pipe(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) { _, _ = io.Copy(dst, src); done <- struct{}{} }
	go cp(up, c)
	go cp(c, up)
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

// supervised is a mocdc process that is started again when it exits, the
// way Kubernetes restarts a pod; exits it did not cause are counted.
type supervised struct {
	name    string
	bin     string
	args    []string
	logPath string

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
	killing  bool
	stopped  bool
	exits    []time.Time // exits the harness did not cause
	starts   int
	restartC chan struct{}
}

func superviseProc(t *testing.T, dir, name, bin string, args ...string) *supervised {
	s := &supervised{name: name, bin: bin, args: args, logPath: filepath.Join(dir, name+".log"), restartC: make(chan struct{}, 1)}
	s.start()
	go s.loop()
	t.Cleanup(s.stop)
	return s
}

func (s *supervised) start() {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Die with the test: a test killed by its timeout must not leave
	// processes that keep writing to the private services.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	done := make(chan struct{})
	if err := cmd.Start(); err != nil {
		logf.Close()
		close(done)
	} else {
		go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.starts++
	s.mu.Unlock()
}

// loop restarts the process one second after an exit it was not told of.
func (s *supervised) loop() {
	for {
		s.mu.Lock()
		done, stopped := s.done, s.stopped
		s.mu.Unlock()
		if stopped {
			return
		}
		<-done
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			return
		}
		if !s.killing {
			s.exits = append(s.exits, time.Now())
		}
		s.killing = false
		s.mu.Unlock()
		select {
		case <-s.restartC:
		case <-time.After(time.Second):
		}
		s.mu.Lock()
		stopped = s.stopped
		s.mu.Unlock()
		if !stopped {
			s.start()
		}
	}
}

// signal sends sig to the process (SIGKILL: the supervisor restarts it
// after restartAfter).
func (s *supervised) signal(sig syscall.Signal, restartAfter time.Duration) {
	s.mu.Lock()
	cmd := s.cmd
	if sig == syscall.SIGKILL {
		s.killing = true
	}
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	if sig == syscall.SIGKILL && restartAfter < time.Second {
		go func() { time.Sleep(restartAfter); s.restartC <- struct{}{} }()
	}
}

func (s *supervised) unexpectedExits(since time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.exits {
		if e.After(since) {
			n++
		}
	}
	return n
}

func (s *supervised) stop() {
	s.mu.Lock()
	s.stopped = true
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

func (s *supervised) tail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// mountTmpfs mounts a small tmpfs at dir (capture's spill directory in the
// chaos run), so filling it is cheap and exact.
func mountTmpfs(t *testing.T, dir string, size string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs on %s (the chaos test runs as root): %v: %s", dir, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
}

// fillDisk writes a file into dir until the filesystem is full and
// returns a function that removes it.
func fillDisk(dir string) func() {
	path := filepath.Join(dir, "chaos-filler")
	f, err := os.Create(path)
	if err == nil {
		buf := make([]byte, 1<<20)
		for {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
		f.Close()
	}
	return func() { _ = os.Remove(path) }
}

// chaosMetric scrapes one unlabelled series from a process's /metrics.
func chaosMetric(ctx context.Context, addr, name string) (float64, error) {
	out, err := httpGet(ctx, "http://"+addr+"/metrics")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, fmt.Errorf("%s not served", name)
}
