// Package tasks is phonestart's wire contract: the asynq task type, queue and
// payload that producers enqueue and workers process. Anything that puts a
// start-phone task into Redis, in any language, must write what this package
// writes. TypeStartPhone and the payload's JSON field names never change once
// shipped.
package tasks

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/geelark"
)

// TypeStartPhone is the asynq task type of a start-phone task.
const TypeStartPhone = "phone:start"

// Queue is the asynq queue phonestart uses, so it can share a Redis with
// other asynq applications.
const Queue = "phonestart"

// MaxRetry is the asynq retry ceiling written on every task. Workers stop a
// phone earlier, at their configured max attempts; this only bounds a worker
// misconfigured beyond it.
const MaxRetry = 1000

// Timeout bounds one attempt of a task: waiting for a batch to form, for the
// API budget, and for the call itself.
const Timeout = 15 * time.Minute

// StartPhone is the payload of a TypeStartPhone task: one phone and the
// options to start it with.
type StartPhone struct {
	ID      string               `json:"id"`
	Options geelark.StartOptions `json:"options"`
	// Attempts counts the attempts earlier tasks of this request used: a
	// phone that failed to boot is started again by a new task that
	// carries them on, so max attempts spans boots. 0 for a new request.
	Attempts int `json:"attempts,omitempty"`
	// StopAfter, when positive, asks for a stop of the phone that long
	// after it became ready (or after its start was accepted, with boot
	// confirmation off): the billing guard. In nanoseconds on the wire.
	StopAfter time.Duration `json:"stop_after,omitempty"`
}

// Validate reports the first problem with the payload.
func (p StartPhone) Validate() error {
	if err := geelark.ValidateID(p.ID); err != nil {
		return err
	}
	if p.Attempts < 0 || p.Attempts > MaxRetry {
		return fmt.Errorf("attempts %d is outside 0..%d", p.Attempts, MaxRetry)
	}
	if p.StopAfter < 0 {
		return fmt.Errorf("stop_after %v is negative", p.StopAfter)
	}
	return p.Options.Validate()
}

// TaskID returns the asynq task ID of the start task for a phone. One ID per
// phone is what makes a second enqueue of a phone that is still pending,
// scheduled, retrying or active a duplicate.
func TaskID(phoneID string) string { return phoneID }

// NewStartTask returns the task that starts one phone with opts. The task's
// ID, queue, timeout and retry ceiling are set; extra options (ProcessAt,
// Retention) are appended.
func NewStartTask(phoneID string, opts geelark.StartOptions, extra ...asynq.Option) (*asynq.Task, error) {
	return NewRetryTask(StartPhone{ID: phoneID, Options: opts}, extra...)
}

// NewRetryTask returns the start task of p, which may carry attempts
// already used (see StartPhone.Attempts).
func NewRetryTask(p StartPhone, extra ...asynq.Option) (*asynq.Task, error) {
	return newTask(TypeStartPhone, Queue, TaskID(p.ID), p, extra)
}

// payload is a task payload: it checks itself.
type payload interface{ Validate() error }

// newTask returns a task of type typ in queue with ID id, carrying p as
// JSON, with the timeout and retry ceiling every phonestart task has, and
// extra options appended.
func newTask(typ, queue, id string, p payload, extra []asynq.Option) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("tasks: encode payload: %w", err)
	}
	opts := append([]asynq.Option{
		asynq.TaskID(id),
		asynq.Queue(queue),
		asynq.MaxRetry(MaxRetry),
		asynq.Timeout(Timeout),
	}, extra...)
	return asynq.NewTask(typ, b, opts...), nil
}

// parse decodes and checks a payload of type typ into p. Its errors wrap
// asynq.SkipRetry: retrying cannot fix a payload.
func parse(typ string, b []byte, p payload) error {
	if err := json.Unmarshal(b, p); err != nil {
		return fmt.Errorf("tasks: bad %s payload: %v: %w", typ, err, asynq.SkipRetry)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("tasks: bad %s payload: %v: %w", typ, err, asynq.SkipRetry)
	}
	return nil
}

// ParseStartPhone decodes and checks a start-phone payload. Its errors wrap
// asynq.SkipRetry: retrying cannot fix a payload.
func ParseStartPhone(b []byte) (StartPhone, error) {
	var p StartPhone
	err := parse(TypeStartPhone, b, &p)
	return p, err
}

// Result is what a worker writes as the task's result when the phone was
// started; asynq keeps it for the task's retention.
type Result struct {
	URL            string    `json:"url,omitempty"`
	ChargingMethod string    `json:"charging_method,omitempty"`
	TraceID        string    `json:"trace_id"`
	StartedAt      time.Time `json:"started_at"`
	// Code is set when GeeLark said the phone was already starting (43010).
	Code int `json:"code,omitempty"`
}
