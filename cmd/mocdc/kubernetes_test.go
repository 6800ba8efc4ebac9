package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

const k8sDir = "../../deploy/kubernetes"

// k8sObjects are the decoded manifests of deploy/kubernetes by kind.
type k8sObjects struct {
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	deployments  []*appsv1.Deployment
	cronJobs     []*batchv1.CronJob
	services     []*corev1.Service
	pdbs         []*policyv1.PodDisruptionBudget
	monitors     []*monitoringv1.ServiceMonitor
	rules        []*monitoringv1.PrometheusRule
	commonLabels map[string]string
}

// kustomization is the part of kustomization.yaml we use, decoded strictly.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
}

// decodeK8s decodes every manifest strictly with the Kubernetes API types:
// an unknown or misspelt field is an error, as kubectl --validate=strict
// would make it.
func decodeK8s(t *testing.T) *k8sObjects {
	t.Helper()
	var k kustomization
	if err := yaml.UnmarshalStrict([]byte(readFile(t, filepath.Join(k8sDir, "kustomization.yaml"))), &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	listed := map[string]bool{}
	for _, r := range k.Resources {
		listed[r] = true
	}
	o := &k8sObjects{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}, commonLabels: map[string]string{}}
	for _, l := range k.Labels {
		for key, v := range l.Pairs {
			o.commonLabels[key] = v
		}
	}
	for _, f := range files {
		name := filepath.Base(f)
		if name == "kustomization.yaml" {
			continue
		}
		if !listed[name] {
			t.Errorf("%s is not listed in kustomization.yaml's resources", name)
		}
		delete(listed, name)
		for i, doc := range bytes.Split([]byte(readFile(t, f)), []byte("\n---\n")) {
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s document %d: %v", name, i, err)
			}
			at := fmt.Sprintf("%s document %d (%s)", name, i, meta.Kind)
			strict := func(v any) {
				if err := yaml.UnmarshalStrict(doc, v); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			switch meta.APIVersion + " " + meta.Kind {
			case "v1 ConfigMap":
				var v corev1.ConfigMap
				strict(&v)
				o.configMaps[v.Name] = &v
			case "v1 Secret":
				var v corev1.Secret
				strict(&v)
				o.secrets[v.Name] = &v
			case "apps/v1 Deployment":
				var v appsv1.Deployment
				strict(&v)
				o.deployments = append(o.deployments, &v)
			case "batch/v1 CronJob":
				var v batchv1.CronJob
				strict(&v)
				o.cronJobs = append(o.cronJobs, &v)
			case "v1 Service":
				var v corev1.Service
				strict(&v)
				o.services = append(o.services, &v)
			case "policy/v1 PodDisruptionBudget":
				var v policyv1.PodDisruptionBudget
				strict(&v)
				o.pdbs = append(o.pdbs, &v)
			case "monitoring.coreos.com/v1 ServiceMonitor":
				var v monitoringv1.ServiceMonitor
				strict(&v)
				o.monitors = append(o.monitors, &v)
			case "monitoring.coreos.com/v1 PrometheusRule":
				var v monitoringv1.PrometheusRule
				strict(&v)
				o.rules = append(o.rules, &v)
			default:
				t.Errorf("%s: apiVersion %q kind %q is not one the test knows: add it to decodeK8s", at, meta.APIVersion, meta.Kind)
			}
		}
	}
	for r := range listed {
		t.Errorf("kustomization.yaml lists %s, which does not exist", r)
	}
	return o
}

// materialise writes the files a pod sees under its volume mounts into a
// temporary root and returns a function mapping a path in the pod to the
// temporary one. Secrets' placeholder CA certificates become the test CA.
func (o *k8sObjects) materialise(t *testing.T, spec *corev1.PodSpec, c *corev1.Container) func(string) string {
	t.Helper()
	root := t.TempDir()
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	exampleCA := readFile(t, "testdata/example-ca.pem")
	var mounts []string
	for _, m := range c.VolumeMounts {
		v, ok := vols[m.Name]
		if !ok {
			t.Fatalf("container %s mounts volume %s, which the pod does not have", c.Name, m.Name)
		}
		dir := filepath.Join(root, m.MountPath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		switch {
		case v.ConfigMap != nil:
			cm := o.configMaps[v.ConfigMap.Name]
			if cm == nil {
				t.Fatalf("volume %s: ConfigMap %s is not among the manifests", m.Name, v.ConfigMap.Name)
			}
			files = cm.Data
		case v.Secret != nil:
			s := o.secrets[v.Secret.SecretName]
			if s == nil {
				t.Fatalf("volume %s: Secret %s is not among the manifests", m.Name, v.Secret.SecretName)
			}
			for k, val := range s.StringData {
				if strings.HasSuffix(k, ".crt") {
					val = exampleCA
				}
				files[k] = val
			}
		case v.EmptyDir != nil:
		default:
			t.Fatalf("volume %s: a kind the test does not know", m.Name)
		}
		for k, val := range files {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(val), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		mounts = append(mounts, m.MountPath)
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	return func(p string) string {
		for _, m := range mounts {
			if p == m || strings.HasPrefix(p, m+"/") {
				return filepath.Join(root, p)
			}
		}
		return p
	}
}

var podPath = regexp.MustCompile(`(/(?:etc|run|var)/[A-Za-z0-9_./-]+)`)

// checkContainer loads the container's --config as the binary would inside
// the pod (files from its mounts) and checks the command, the metrics port
// and the probes against it.
func (o *k8sObjects) checkContainer(t *testing.T, at string, spec *corev1.PodSpec, c *corev1.Container) *Config {
	t.Helper()
	args := c.Args
	idx := -1
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			idx = i + 1
		}
	}
	if idx < 0 {
		t.Fatalf("%s: args %v have no --config", at, args)
	}
	known := map[string]bool{"capture": true, "sink mirror": true, "sink ledger": true, "run": true, "ledger verify": true}
	cmd := args[0]
	if args[0] == "sink" || args[0] == "ledger" {
		cmd = args[0] + " " + args[1]
	}
	if !known[cmd] {
		t.Errorf("%s: command %q is not a mocdc command", at, cmd)
	}
	inPod := o.materialise(t, spec, c)
	path := inPod(args[idx])
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: --config %s is not in the pod's mounts: %v", at, args[idx], err)
	}
	text := podPath.ReplaceAllStringFunc(string(raw), inPod)
	// The container's own environment: literal values, and a stand-in for
	// what the downward API fills in (a pod name for metadata.name).
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			t.Setenv(e.Name, "mocdc-pod-7d9f-x2x4b")
		case e.ValueFrom != nil:
			t.Errorf("%s: env %s: only literal values and the pod name are checked here; extend the test", at, e.Name)
		default:
			t.Setenv(e.Name, e.Value)
		}
	}
	cfg, err := LoadConfig(writeTemp(t, text))
	if err != nil {
		t.Fatalf("%s: the binary refuses its configuration %s: %v", at, args[idx], err)
	}
	if cmd == "sink mirror" {
		target := ""
		for i, a := range args {
			if a == "--target" && i+1 < len(args) {
				target = args[i+1]
			}
		}
		found := false
		for _, m := range cfg.Mirrors {
			found = found || m.Name == target
		}
		if !found {
			t.Errorf("%s: --target %q is not a mirrors entry of %s", at, target, args[idx])
		}
	}
	if cmd == "capture" && cfg.Store.DSN == "" {
		t.Errorf("%s: capture without store.dsn", at)
	}
	return cfg
}

// checkServing checks that the metrics port the config listens on is the
// container's port "metrics" and that the probes ask /healthz and /readyz.
func checkServing(t *testing.T, at string, cfg *Config, c *corev1.Container) {
	_, port, err := net.SplitHostPort(cfg.Metrics.Listen)
	if err != nil {
		t.Errorf("%s: metrics.listen %q: %v", at, cfg.Metrics.Listen, err)
		return
	}
	var cport string
	for _, p := range c.Ports {
		if p.Name == "metrics" {
			cport = fmt.Sprint(p.ContainerPort)
		}
	}
	if cport != port {
		t.Errorf("%s: containerPort metrics is %q, metrics.listen port %s", at, cport, port)
	}
	for name, pr := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if pr == nil || pr.HTTPGet == nil {
			t.Errorf("%s: no HTTP probe for %s", at, name)
			continue
		}
		if pr.HTTPGet.Path != name || pr.HTTPGet.Port.String() != "metrics" {
			t.Errorf("%s: probe asks %s on %s, want %s on port metrics", at, pr.HTTPGet.Path, pr.HTTPGet.Port.String(), name)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: resource requests (cpu, memory) and a memory limit are required", at)
	}
}

func selects(sel map[string]string, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestKubernetesManifests: deploy/kubernetes decodes strictly with the
// Kubernetes API types, and agrees with the binary: every container's
// configuration loads (with the files its mounts give it), its command
// exists, its metrics port and probes match what the binary serves,
// capture runs as active + standby with a PodDisruptionBudget, every
// Service, PodDisruptionBudget and ServiceMonitor selects something, and
// every metric an alert uses is one the code registers.
func TestKubernetesManifests(t *testing.T) {
	o := decodeK8s(t)
	if len(o.deployments) < 3 {
		t.Fatalf("%d Deployments, want capture, the ledger and at least one mirror", len(o.deployments))
	}
	var podLabels []map[string]string
	for _, d := range o.deployments {
		at := "Deployment " + d.Name
		if !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("%s: its selector does not select its pods", at)
		}
		podLabels = append(podLabels, d.Spec.Template.Labels)
		if len(d.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", at, len(d.Spec.Template.Spec.Containers))
		}
		c := &d.Spec.Template.Spec.Containers[0]
		cfg := o.checkContainer(t, at, &d.Spec.Template.Spec, c)
		checkServing(t, at, cfg, c)
		if c.Args[0] == "capture" {
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
				t.Errorf("%s: capture wants 2 replicas (one active, one standby)", at)
			}
		}
	}
	for _, cj := range o.cronJobs {
		spec := &cj.Spec.JobTemplate.Spec.Template.Spec
		o.checkContainer(t, "CronJob "+cj.Name, spec, &spec.Containers[0])
	}
	for _, s := range o.services {
		found := false
		for _, l := range podLabels {
			found = found || selects(s.Spec.Selector, l)
		}
		if !found {
			t.Errorf("Service %s selects no Deployment's pods", s.Name)
		}
	}
	pdbFor := map[string]bool{}
	for _, p := range o.pdbs {
		for _, d := range o.deployments {
			if selects(p.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
				pdbFor[d.Name] = true
			}
		}
	}
	for _, d := range o.deployments {
		if d.Spec.Replicas != nil && *d.Spec.Replicas > 1 && !pdbFor[d.Name] {
			t.Errorf("Deployment %s runs %d replicas without a PodDisruptionBudget", d.Name, *d.Spec.Replicas)
		}
	}
	for _, m := range o.monitors {
		n := 0
		for _, s := range o.services {
			labels := map[string]string{}
			for k, v := range o.commonLabels {
				labels[k] = v
			}
			for k, v := range s.Labels {
				labels[k] = v
			}
			if selects(m.Spec.Selector.MatchLabels, labels) && len(s.Spec.Ports) > 0 && s.Spec.Ports[0].Name == m.Spec.Endpoints[0].Port {
				n++
			}
		}
		if n != len(o.services) {
			t.Errorf("ServiceMonitor %s scrapes %d of %d Services", m.Name, n, len(o.services))
		}
	}
	known := registeredMetrics(t, "../..")
	metric := regexp.MustCompile(`\bmocdc_[a-z_]+`)
	alerts := 0
	for _, r := range o.rules {
		for _, g := range r.Spec.Groups {
			for _, rule := range g.Rules {
				alerts++
				for _, name := range metric.FindAllString(rule.Expr.String(), -1) {
					if _, ok := known[name]; !ok {
						t.Errorf("alert %s uses %s, which no code registers", rule.Alert, name)
					}
				}
			}
		}
	}
	if alerts < 8 {
		t.Errorf("%d alerts, want those of docs/operations.md §7", alerts)
	}
}
