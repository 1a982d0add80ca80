// Package ci is the pull-request bot: finding the pull request a CI job
// runs for, the analysis of its change (merged across shards), the
// comment and commit status that report it, and planning which comments
// to edit, create and delete so that a pull request carries one comment
// (or one numbered series of comments) from the bot, kept up to date
// across runs.
package ci

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Job is what the CI environment says about the run.
type Job struct {
	// Provider is github, gitea or gitlab.
	Provider string
	// Server is the forge's web URL, such as https://github.com.
	Server string
	// Repo is owner/name (a GitLab project path).
	Repo string
	// PR is the pull (merge) request number, 0 when the run is not for
	// one.
	PR int
	// Base is the pull request's target branch, when the environment says.
	Base string
}

// Detect reads the CI environment of GitHub Actions, Gitea Actions and
// GitLab CI. readFile reads GitHub's event payload.
func Detect(getenv func(string) string, readFile func(string) ([]byte, error)) (Job, bool) {
	if readFile == nil {
		readFile = os.ReadFile
	}
	switch {
	case getenv("GITLAB_CI") == "true":
		j := Job{Provider: "gitlab", Server: getenv("CI_SERVER_URL"), Repo: getenv("CI_PROJECT_PATH"), Base: getenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")}
		j.PR, _ = strconv.Atoi(getenv("CI_MERGE_REQUEST_IID"))
		return j, true
	case getenv("GITHUB_ACTIONS") == "true":
		j := Job{Provider: "github", Server: getenv("GITHUB_SERVER_URL"), Repo: getenv("GITHUB_REPOSITORY"), Base: getenv("GITHUB_BASE_REF")}
		if getenv("GITEA_ACTIONS") == "true" {
			j.Provider = "gitea"
		}
		if j.Server == "" {
			j.Server = "https://github.com"
		}
		j.PR = eventPR(getenv("GITHUB_EVENT_PATH"), readFile)
		if j.PR == 0 {
			j.PR = refPR(getenv("GITHUB_REF"))
		}
		return j, true
	}
	return Job{}, false
}

// eventPR reads pull_request.number (or number) from the event payload.
func eventPR(path string, readFile func(string) ([]byte, error)) int {
	if path == "" {
		return 0
	}
	data, err := readFile(path)
	if err != nil {
		return 0
	}
	var ev struct {
		Number      int `json:"number"`
		PullRequest struct {
			Number int `json:"number"`
		} `json:"pull_request"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return 0
	}
	if ev.PullRequest.Number != 0 {
		return ev.PullRequest.Number
	}
	return ev.Number
}

var pullRef = regexp.MustCompile(`^refs/pull/(\d+)/`)

// refPR reads the number from refs/pull/N/merge.
func refPR(ref string) int {
	m := pullRef.FindStringSubmatch(ref)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// Marker starts every comment the bot writes, hidden when rendered, so a
// later run finds its comments among everyone else's.
const Marker = "<!-- kubectl-gitops -->"

// partMarker numbers the comments of a series.
func partMarker(i int) string { return fmt.Sprintf("<!-- kubectl-gitops part %d -->", i) }

var partRE = regexp.MustCompile(`<!-- kubectl-gitops part (\d+) -->`)

// Existing is a comment already on the pull request.
type Existing struct {
	ID   string
	Body string
}

// Action is one thing to do to the pull request's comments.
type Action struct {
	// Op is create, edit or delete.
	Op string
	// ID is the comment edited or deleted.
	ID string
	// Body is the new body of a created or edited comment.
	Body string
}

// Plan returns what to do so that the pull request's bot comments become
// parts, in order: the bot's existing comments (found by Marker) are edited
// in place in the order they were posted, missing parts are created, and
// comments left over from a longer earlier series are deleted. A comment
// whose body is already right is left alone.
func Plan(existing []Existing, parts []string) []Action {
	var ours []Existing
	for _, c := range existing {
		if strings.HasPrefix(strings.TrimSpace(c.Body), Marker) {
			ours = append(ours, c)
		}
	}
	sort.SliceStable(ours, func(i, j int) bool { return partOf(ours[i].Body) < partOf(ours[j].Body) })
	var actions []Action
	for i, p := range parts {
		body := Marker + "\n" + partMarker(i+1) + "\n" + p
		if i < len(ours) {
			if ours[i].Body != body {
				actions = append(actions, Action{Op: "edit", ID: ours[i].ID, Body: body})
			}
			continue
		}
		actions = append(actions, Action{Op: "create", Body: body})
	}
	for _, c := range ours[min(len(parts), len(ours)):] {
		actions = append(actions, Action{Op: "delete", ID: c.ID})
	}
	return actions
}

func partOf(body string) int {
	m := partRE.FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
