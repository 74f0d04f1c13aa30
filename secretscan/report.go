package secretscan

import (
	"encoding/json"
	"errors"
)

// match is one secret GitHub found (its "partner format"): the token, the
// name of the pattern that matched, and where it was found.
type match struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// errReport: the body, though signed, is not a report.
var errReport = errors.New("secretscan: malformed report")

// parseReport reads a report: a JSON array of matches, each with a
// token. Members it does not know are ignored, so that GitHub may add
// some.
func parseReport(body []byte) ([]match, error) {
	var matches []match
	if err := json.Unmarshal(body, &matches); err != nil || matches == nil {
		return nil, errReport
	}
	for _, m := range matches {
		if m.Token == "" {
			return nil, errReport
		}
	}
	return matches, nil
}

// Labels of the feedback, GitHub's words.
const (
	truePositive  = "true_positive"
	falsePositive = "false_positive"
)

// feedback tells GitHub whether a match was a real token, by the SHA-256
// of the token rather than the token itself.
type feedback struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}
