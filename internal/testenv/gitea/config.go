package gitea

import (
	"fmt"
	"path/filepath"
	"strings"
)

// config is what the app.ini of one server depends on.
type config struct {
	appName       string // unique: it tells this server from any other
	dir           string // the work path; everything Gitea writes goes below it
	port          int
	runUser       string
	asRoot        bool // the tests run as root, which Gitea refuses unless told
	secretKey     string
	internalToken string
}

// section is one [name] of app.ini, its keys in order.
type section struct {
	name string
	keys [][2]string
}

// sections returns the app.ini of a server that is quick to start and
// needs nothing outside its folder and 127.0.0.1: sqlite, no SSH, no mail,
// no indexers beyond the database, no actions or packages, queues that run
// their items at once, and no cron tasks at start.
func (c config) sections() []section {
	url := fmt.Sprintf("http://127.0.0.1:%d/", c.port)
	root := [][2]string{
		{"APP_NAME", c.appName},
		{"RUN_MODE", "prod"},
		{"RUN_USER", c.runUser},
		{"WORK_PATH", c.dir},
	}
	if c.asRoot {
		root = append(root, [2]string{"I_AM_BEING_UNSAFE_RUNNING_AS_ROOT", "true"})
	}
	s := []section{
		{"", root},
		{"server", [][2]string{
			{"PROTOCOL", "http"},
			{"HTTP_ADDR", "127.0.0.1"},
			{"HTTP_PORT", fmt.Sprint(c.port)},
			{"DOMAIN", "127.0.0.1"},
			{"ROOT_URL", url},
			{"LOCAL_ROOT_URL", url},
			{"APP_DATA_PATH", c.path("data")},
			{"OFFLINE_MODE", "true"},
			{"DISABLE_SSH", "true"},
			{"START_SSH_SERVER", "false"},
			{"LFS_START_SERVER", "false"},
			{"GRACEFUL_HAMMER_TIME", "2s"},
		}},
		{"database", [][2]string{
			{"DB_TYPE", "sqlite3"},
			{"PATH", c.path("data", "gitea.db")},
			// Creating the tables of a new database takes a few seconds
			// with the default rollback journal, a second with WAL.
			{"SQLITE_JOURNAL_MODE", "WAL"},
		}},
		{"security", [][2]string{
			{"INSTALL_LOCK", "true"},
			{"SECRET_KEY", c.secretKey},
			{"INTERNAL_TOKEN", c.internalToken},
			{"PASSWORD_COMPLEXITY", "off"},
		}},
		{"repository", [][2]string{
			{"ROOT", c.path("repositories")},
			{"DEFAULT_BRANCH", "main"},
		}},
		{"repository.signing", [][2]string{{"SIGNING_KEY", "none"}}},
		{"log", [][2]string{
			{"MODE", "file"},
			{"LEVEL", "Info"},
			{"ROOT_PATH", c.path("log")},
		}},
		{"service", [][2]string{
			{"DISABLE_REGISTRATION", "true"},
			{"REQUIRE_SIGNIN_VIEW", "false"},
			{"ENABLE_NOTIFY_MAIL", "false"},
			{"NO_REPLY_ADDRESS", "noreply.example.org"},
		}},
		{"mailer", [][2]string{{"ENABLED", "false"}}},
		{"indexer", [][2]string{
			{"ISSUE_INDEXER_TYPE", "db"},
			{"REPO_INDEXER_ENABLED", "false"},
		}},
		{"queue", [][2]string{{"TYPE", "immediate"}}},
		{"session", [][2]string{{"PROVIDER", "memory"}}},
		{"cache", [][2]string{{"ADAPTER", "memory"}}},
		{"oauth2", [][2]string{{"ENABLED", "false"}}},
		{"actions", [][2]string{{"ENABLED", "false"}}},
		{"packages", [][2]string{{"ENABLED", "false"}}},
		{"webhook", [][2]string{{"ALLOWED_HOST_LIST", "loopback"}}},
		{"cron", [][2]string{{"ENABLED", "false"}, {"RUN_AT_START", "false"}}},
	}
	// The basic cron tasks are on whatever [cron] says; these run at start
	// or reach out to the network.
	for _, task := range []string{
		"archive_cleanup", "check_repo_stats", "cleanup_packages", "deleted_branches_cleanup",
		"repo_health_check", "update_checker", "update_migration_poster_id", "update_mirrors",
	} {
		s = append(s, section{"cron." + task, [][2]string{{"ENABLED", "false"}}})
	}
	return s
}

// appINI renders c as an app.ini file.
func (c config) appINI() []byte {
	var b strings.Builder
	for _, sec := range c.sections() {
		if sec.name != "" {
			fmt.Fprintf(&b, "\n[%s]\n", sec.name)
		}
		for _, kv := range sec.keys {
			fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
		}
	}
	return []byte(b.String())
}

// path returns a path below the work path.
func (c config) path(elem ...string) string {
	return filepath.Join(append([]string{c.dir}, elem...)...)
}
