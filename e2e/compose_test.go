package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	composecli "github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// Distinctive credentials, passed through the shell's environment: the
// file must hand them on as they are, without a default of its own.
const (
	secretKey   = "sk-9f3c1e77b2d04a5f-never-log-me"
	secretToken = "tok-4d2b90aa61c8e3f1-never-log-me"
)

// loadCompose loads the repository's docker-compose.yml as docker compose
// would, every profile on, with env as the shell's environment.
func loadCompose(t *testing.T, env []string) *types.Project {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	opts, err := composecli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		composecli.WithName("phonestart"), composecli.WithWorkingDirectory(root),
		composecli.WithEnv(env), composecli.WithProfiles([]string{"*"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

func TestDockerCompose(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, []string{"PHONESTART_ADMIN_PORT=9191"})
	svc := func(name string) types.ServiceConfig {
		t.Helper()
		s, ok := p.Services[name]
		if !ok {
			t.Fatalf("docker-compose.yml has no service %q (has %v)", name, p.ServiceNames())
		}
		return s
	}

	redis := svc("redis")
	if hc := redis.HealthCheck; hc == nil || !slices.Contains(hc.Test, "ping") {
		t.Errorf("redis health check %+v, want redis-cli ping", redis.HealthCheck)
	}
	if cmd := strings.Join(redis.Command, " "); !strings.Contains(cmd, "--appendonly yes") ||
		!strings.Contains(cmd, "--appendfsync always") {
		t.Errorf("redis command %q: want AOF with appendfsync always, as the README promises", cmd)
	}
	if !hasVolume(redis, "volume", "redis-data", "/data") || p.Volumes["redis-data"].Name == "" {
		t.Errorf("redis volumes %+v: want the named volume redis-data on /data", redis.Volumes)
	}

	for _, name := range []string{"worker", "worker-admin", "scheduler"} {
		s := svc(name)
		if d, ok := s.DependsOn["redis"]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s depends on %+v, want redis healthy", name, s.DependsOn)
		}
		// Exit 2 (bad configuration) must not restart forever.
		if !strings.HasPrefix(s.Restart, "on-failure:") {
			t.Errorf("%s restart %q: want on-failure:N, which stops after N failures", name, s.Restart)
		}
		if s.Environment["REDIS_URL"] == nil || *s.Environment["REDIS_URL"] != "redis://redis:6379/0" {
			t.Errorf("%s REDIS_URL %v", name, s.Environment["REDIS_URL"])
		}
	}
	for _, name := range []string{"worker", "worker-admin"} {
		s := svc(name)
		if got := strings.Join(s.Command, " "); got != "worker" {
			t.Errorf("%s command %q", name, got)
		}
		// Longer than the worker's 40s shutdown timeout.
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= 40*time.Second {
			t.Errorf("%s stop_grace_period %v, want over 40s", name, s.StopGracePeriod)
		}
	}
	admin := svc("worker-admin")
	if len(admin.Ports) != 1 || admin.Ports[0].HostIP != "127.0.0.1" || admin.Ports[0].Published != "9191" {
		t.Errorf("worker-admin ports %+v: want the loopback only, on PHONESTART_ADMIN_PORT", admin.Ports)
	}

	sched := svc("scheduler")
	if got := strings.Join(sched.Command, " "); got != "schedule" {
		t.Errorf("scheduler command %q", got)
	}
	file := sched.Environment["PHONESTART_SCHEDULES"]
	var mounted bool
	for _, v := range sched.Volumes {
		if v.Type == "bind" && v.ReadOnly && file != nil && strings.HasPrefix(*file, v.Target+"/") &&
			filepath.Base(v.Source) == "schedules" {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("scheduler volumes %+v, PHONESTART_SCHEDULES %v: want ./schedules mounted read-only holding the file",
			sched.Volumes, file)
	}
	if !slices.Contains(sched.Profiles, "schedule") || !slices.Contains(svc("fakeapi").Profiles, "demo") {
		t.Errorf("profiles: scheduler %v, fakeapi %v", sched.Profiles, svc("fakeapi").Profiles)
	}
}

// Credentials have no default value: unset in the shell, unset in the
// container; set, passed as they are.
func TestDockerComposeSecretsHaveNoDefault(t *testing.T) {
	t.Parallel()
	secrets := []string{"GEELARK_APP_ID", "GEELARK_API_KEY", "GEELARK_TOKEN"}
	unset := loadCompose(t, nil)
	set := loadCompose(t, []string{"GEELARK_APP_ID=app-from-shell", "GEELARK_API_KEY=" + secretKey, "GEELARK_TOKEN=" + secretToken})
	want := map[string]string{"GEELARK_APP_ID": "app-from-shell", "GEELARK_API_KEY": secretKey, "GEELARK_TOKEN": secretToken}
	n := 0
	for name, s := range unset.Services {
		for k, v := range s.Environment {
			if !strings.HasPrefix(k, "GEELARK_") || k == "GEELARK_BASE_URL" {
				continue
			}
			if !slices.Contains(secrets, k) {
				t.Errorf("%s sets %s: a GEELARK_ variable this test does not know", name, k)
			}
			n++
			if v != nil {
				t.Errorf("%s: %s = %q with the shell's unset: a default value", name, k, *v)
			}
			got := set.Services[name].Environment[k]
			if got == nil || *got != want[k] {
				t.Errorf("%s: %s not passed from the shell: %v", name, k, got)
			}
		}
	}
	if n == 0 {
		t.Fatal("no service passes GeeLark credentials")
	}
	// The file itself: no ${GEELARK_...:-...} or ${GEELARK_...-...}.
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range secrets {
		if strings.Contains(string(b), "${"+k+":-") || strings.Contains(string(b), "${"+k+"-") {
			t.Errorf("docker-compose.yml gives %s a default", k)
		}
	}
}

func hasVolume(s types.ServiceConfig, typ, source, target string) bool {
	for _, v := range s.Volumes {
		if v.Type == typ && v.Source == source && v.Target == target {
			return true
		}
	}
	return false
}
