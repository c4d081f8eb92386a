package fleet

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// pipelineScript runs fill's calls of s (EvalSha) in one pipeline. A Redis
// that has not seen s (new, restarted, failed over) fails every call
// alike: s is loaded and the pipeline sent again.
func pipelineScript(ctx context.Context, rdb redis.UniversalClient, s *redis.Script, fill func(pipe redis.Pipeliner)) error {
	run := func() error {
		pipe := rdb.Pipeline()
		fill(pipe)
		_, err := pipe.Exec(ctx)
		return err
	}
	err := run()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err := s.Load(ctx, rdb).Err(); err != nil {
			return err
		}
		err = run()
	}
	return err
}
