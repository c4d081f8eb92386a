// Package api is `phonestart api`: an HTTP JSON API over the producer
// package enqueue and the fleet's records, for callers in any language, and
// the deliverer of the webhooks that tell them when requests end.
//
// The contract is openapi.yaml, embedded and served at GET
// /v1/openapi.json; the tests check every handler's answers against it.
// Errors are application/problem+json (RFC 9457) naming the bad field.
// Callers authenticate with bearer tokens whose SHA-256 hashes live in a
// tokens file (see NewToken), each with scopes and a request budget. Every
// POST takes an Idempotency-Key. GET /v1/events streams the fleet's events
// as Server-Sent Events that resume exactly after Last-Event-ID.
//
// A Server keeps no state of its own between requests besides the tokens
// it read and their budgets: any number of them can serve the same Redis.
// Each also relays the webhook outbox into asynq tasks and delivers them
// (RunWebhooks), so that notifications go out as long as one runs.
package api
