package geelarktest

import "hash/fnv"

// Mix returns a Config.Default with a realistic mix of outcomes, for manual
// runs and demos. The outcome of a phone is decided by the FNV-1a hash of its
// ID, so the same ID behaves the same in every run. Of all IDs:
//
//   - 88% start at the first attempt;
//   - 5% answer 47002 (resources insufficient) for their first attempt, or
//     for their first two (half of them each), then start;
//   - 3% answer 43020 (unavailable, try later) at the first attempt, then
//     start;
//   - 2% answer 42001 (phone does not exist) at every attempt;
//   - 1% answer 43004 (phone expired) at every attempt;
//   - 1% answer 45002 (proxy unavailable) for their first three attempts,
//     then start.
//
// The shares are exact over the hash's buckets (hash mod 100); over a set of
// IDs they are close to them.
func Mix() func(id string, attempt int) Reply {
	return func(id string, attempt int) Reply {
		h := fnv.New32a()
		h.Write([]byte(id))
		sum := h.Sum32()
		code, times := mixOutcome(sum%100, int(sum/100%2)+1)
		if code != 0 && (times == 0 || attempt <= times) {
			return Reply{Code: code}
		}
		return Reply{}
	}
}

// mixOutcome maps a bucket 0..99 to a code and the number of attempts it is
// answered for (0: forever). flaky is 1 or 2, the attempts of a 47002 phone.
func mixOutcome(bucket uint32, flaky int) (code, times int) {
	switch {
	case bucket < 88:
		return 0, 0
	case bucket < 93:
		return 47002, flaky
	case bucket < 96:
		return 43020, 1
	case bucket < 98:
		return 42001, 0
	case bucket < 99:
		return 43004, 0
	default:
		return 45002, 3
	}
}
