// Package admin reads and repairs phonestart's queue for people: counts by
// state, the dead-letter list, requeue and purge. The dead-letter queue is
// asynq's archive of the phonestart queue.
package admin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/enqueue"
	"github.com/phonestart/phonestart/geelark"
	"github.com/phonestart/phonestart/tasks"
	"github.com/redis/go-redis/v9"
)

// Admin inspects and repairs the queue on one Redis.
type Admin struct {
	insp *asynq.Inspector
	enq  *enqueue.Client
}

// New returns an Admin for rdb; requeues go through enq.
func New(rdb redis.UniversalClient, enq *enqueue.Client) *Admin {
	return &Admin{insp: asynq.NewInspectorFromRedisClient(rdb), enq: enq}
}

// Counts are phones by state.
type Counts struct {
	Pending   int `json:"pending"`
	Scheduled int `json:"scheduled"`
	Retry     int `json:"retry"`
	Active    int `json:"active"`
	Dead      int `json:"dead"`
}

// Counts returns the number of phones in each state.
func (a *Admin) Counts(ctx context.Context) (Counts, error) {
	// GetQueueInfo does not map a missing queue to ErrQueueNotFound: ask
	// first. A queue appears with its first task.
	queues, err := a.insp.Queues()
	if err != nil {
		return Counts{}, fmt.Errorf("list queues: %w", err)
	}
	if !slices.Contains(queues, tasks.Queue) {
		return Counts{}, nil
	}
	q, err := a.insp.GetQueueInfo(tasks.Queue)
	if err != nil {
		return Counts{}, fmt.Errorf("read queue %s: %w", tasks.Queue, err)
	}
	return Counts{Pending: q.Pending, Scheduled: q.Scheduled, Retry: q.Retry, Active: q.Active, Dead: q.Archived}, nil
}

// DeadPhone is one dead-lettered phone.
type DeadPhone struct {
	ID       string               `json:"id"`
	Code     int                  `json:"code"` // 0 when the last outcome was unknown
	Msg      string               `json:"msg"`
	Attempts int                  `json:"attempts"`
	FailedAt time.Time            `json:"failed_at"`
	Options  geelark.StartOptions `json:"options"`
}

var lastErrRE = regexp.MustCompile(`^geelark (\d+|unknown): (.*)$`)

// ParseLastErr splits a task's last error, "geelark <code>: <msg>", into
// its code and message. Other texts come back as code 0 and the whole text.
func ParseLastErr(s string) (int, string) {
	m := lastErrRE.FindStringSubmatch(s)
	if m == nil {
		return 0, s
	}
	code, _ := strconv.Atoi(m[1])
	return code, m[2]
}

// Dead lists the dead-lettered phones, oldest failure first.
func (a *Admin) Dead(ctx context.Context) ([]DeadPhone, error) {
	var out []DeadPhone
	for page := 1; ; page++ {
		infos, err := a.insp.ListArchivedTasks(tasks.Queue, asynq.PageSize(1000), asynq.Page(page))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list dead phones: %w", err)
		}
		for _, ti := range infos {
			out = append(out, deadPhone(ti))
		}
		if len(infos) < 1000 {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FailedAt.Before(out[j].FailedAt) })
	return out, nil
}

func deadPhone(ti *asynq.TaskInfo) DeadPhone {
	code, msg := ParseLastErr(ti.LastErr)
	d := DeadPhone{ID: ti.ID, Code: code, Msg: msg, Attempts: ti.Retried + 1, FailedAt: ti.LastFailedAt.UTC()}
	if p, err := tasks.ParseStartPhone(ti.Payload); err == nil {
		d.ID, d.Options = p.ID, p.Options
	}
	return d
}

// selectDead returns the dead phones named by ids, or all of them. An ID
// that is not dead-lettered is an error and nothing is selected.
func (a *Admin) selectDead(ctx context.Context, all bool, ids []string) ([]DeadPhone, error) {
	if all == (len(ids) > 0) {
		return nil, errors.New("name phone IDs or --all, not both and not neither")
	}
	dead, err := a.Dead(ctx)
	if err != nil || all {
		return dead, err
	}
	byID := make(map[string]DeadPhone, len(dead))
	for _, d := range dead {
		byID[d.ID] = d
	}
	sel := make([]DeadPhone, 0, len(ids))
	for _, id := range ids {
		d, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("phone %q is not dead-lettered", id)
		}
		sel = append(sel, d)
	}
	return sel, nil
}

// Requeue enqueues dead phones again with their own start options and a
// fresh set of attempts, and returns how many were requeued.
func (a *Admin) Requeue(ctx context.Context, all bool, ids []string) (int, error) {
	sel, err := a.selectDead(ctx, all, ids)
	if err != nil {
		return 0, err
	}
	byOpts := map[string]*enqueue.Request{}
	var order []string
	for _, d := range sel {
		k := d.Options.Key()
		if byOpts[k] == nil {
			byOpts[k] = &enqueue.Request{Options: d.Options}
			order = append(order, k)
		}
		byOpts[k].IDs = append(byOpts[k].IDs, d.ID)
	}
	n := 0
	for _, k := range order {
		rep, err := a.enq.Start(ctx, *byOpts[k])
		n += rep.Enqueued
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Purge deletes dead phones for good and returns how many.
func (a *Admin) Purge(ctx context.Context, all bool, ids []string) (int, error) {
	sel, err := a.selectDead(ctx, all, ids)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range sel {
		err := a.insp.DeleteTask(tasks.Queue, tasks.TaskID(d.ID))
		if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return n, fmt.Errorf("purge %s: %w", d.ID, err)
		}
		if err == nil {
			n++
		}
	}
	return n, nil
}
