package tasks

import (
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/phonestart/phonestart/geelark"
)

// TypeStopPhone is the asynq task type of a stop-phone task.
const TypeStopPhone = "phone:stop"

// StopQueue is the asynq queue of stop tasks. Stops have a queue of their
// own, so that one phone can have one start task and one stop task, and so
// that counts per queue show starts and stops side by side.
const StopQueue = "phonestart-stop"

// StopPhone is the payload of a TypeStopPhone task: one phone to shut down.
type StopPhone struct {
	ID string `json:"id"`
	// Attempts counts attempts earlier tasks of this stop used; 0 for a
	// new request.
	Attempts int `json:"attempts,omitempty"`
	// NotBefore, when set, is the exact time the stop is for: asynq
	// schedules to the whole second, so the task comes due at the second
	// before it and the worker waits out the rest.
	NotBefore time.Time `json:"not_before,omitzero"`
}

// Validate reports the first problem with the payload.
func (p StopPhone) Validate() error {
	if err := geelark.ValidateID(p.ID); err != nil {
		return err
	}
	if p.Attempts < 0 || p.Attempts > MaxRetry {
		return fmt.Errorf("attempts %d is outside 0..%d", p.Attempts, MaxRetry)
	}
	return nil
}

// StopTaskID returns the asynq task ID of the stop task for a phone, in
// StopQueue: one pending, scheduled, retrying or active stop per phone.
func StopTaskID(phoneID string) string { return phoneID }

// NewStopTask returns the task that stops one phone. Its ID, queue, timeout
// and retry ceiling are set; extra options (ProcessAt, ProcessIn) are
// appended.
func NewStopTask(p StopPhone, extra ...asynq.Option) (*asynq.Task, error) {
	return newTask(TypeStopPhone, StopQueue, StopTaskID(p.ID), p, extra)
}

// ParseStopPhone decodes and checks a stop-phone payload. Its errors wrap
// asynq.SkipRetry: retrying cannot fix a payload.
func ParseStopPhone(b []byte) (StopPhone, error) {
	var p StopPhone
	err := parse(TypeStopPhone, b, &p)
	return p, err
}
