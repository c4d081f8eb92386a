// Package e2e holds the tests that need more than the product does: the
// browser test of the admin server's /monitoring/ UI (chromedp driving a
// chromium) and the check of docker-compose.yml as docker compose loads it
// (compose-go). They live in a module of their own, so that phonestart's
// go.mod requires only what the product uses; a replace directive points
// it at the phonestart module in the directory above (so after a change to
// phonestart's go.mod, run go mod tidy here too).
//
// Run them with `cd e2e && go test ./...`. The browser test skips, saying
// so, where no chromium is installed; `.ci/run` installs one first.
package e2e
