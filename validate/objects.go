package validate

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
)

// checkSecrets reports Secrets written in the repository's files with
// values in the clear (those a secretGenerator makes are a root rule's).
// Values are never part of a message.
func checkSecrets(c *checker) error {
	return c.eachFile(func(f string, facts fileFacts) {
		for _, x := range facts.Findings {
			if x.Rule == "plain-secret" {
				x.File = f
				c.add("plain-secret", x)
			}
		}
	})
}

// secretsOf finds the Secrets in a file's content with values in the clear,
// refs the prefixes besides the built-in ones that mark a value as a
// reference to a secret manager.
func secretsOf(data []byte, refs []string) []Finding {
	if !bytes.Contains(data, []byte("Secret")) {
		return nil
	}
	var out []Finding
	for _, d := range manifest.Split(data) {
		o, err := manifest.Decode("", d)
		if err != nil || o.Kind != "Secret" || o.APIVersion != "v1" {
			continue
		}
		if field, key := plainSecretField(o.Node(), refs); field != nil {
			out = append(out, Finding{Rule: "plain-secret", Line: field.Line, Object: ObjectID(o.APIVersion, o.Kind, o.Namespace, o.Name),
				Message: secretMessage(o.Namespace, o.Name, key)})
		}
	}
	return out
}

// plainSecretField returns the data or stringData key of a Secret that
// holds a secret value in the clear, and that value's key; nil when it
// holds none. A value is not in the clear when the Secret is SOPS-encrypted,
// or the value is empty, a reference to a secret manager (secretReference),
// a SOPS-encrypted file, or holds a Flux variable that post-build
// substitution fills. A value in the clear under a key that names a
// setting (settingKey: a host, a port, a repository's URL) is not a secret
// one: the Secret keeps it beside its credentials. Nor is a one-line value
// under a key that names no credential in a Secret that takes another
// value from elsewhere (a variable, a reference): its author keeps the
// secrets out of Git and this one in on purpose (a storage driver's name
// beside its variable API token); nor in one of Argo CD's declarative
// Secrets (a repository, its credentials, a cluster), whose fields Argo CD
// documents: a name, a URL, a project, a type, flags, and its credentials
// (password, sshPrivateKey, tlsClientCertKey, githubAppPrivateKey,
// gcpServiceAccountKey, a cluster config's bearerToken), which keys name.
func plainSecretField(n *yaml.Node, refs []string) (*yaml.Node, string) {
	if manifest.Lookup(n, "sops") != nil {
		return nil, ""
	}
	type entry struct{ field, key, value string }
	var entries []entry
	routed := manifest.Path(n, "metadata", "labels", argoCDSecretType) != nil
	for _, field := range [...]string{"data", "stringData"} {
		v := manifest.Lookup(n, field)
		if v == nil || v.Kind != yaml.MappingNode {
			continue
		}
		if manifest.Lookup(v, "sops_mac") != nil {
			return nil, "" // a secretGenerator's SOPS-encrypted env file
		}
		for i := 1; i < len(v.Content); i += 2 {
			key, value := v.Content[i-1].Value, v.Content[i].Value
			if field == "data" {
				if b, err := base64.StdEncoding.DecodeString(value); err == nil {
					value = string(b)
				}
			}
			routed = routed || elsewhere(value, refs)
			entries = append(entries, entry{field, key, value})
		}
	}
	// Named by the first value in the clear, a credential's first (a
	// password rather than the user name beside it).
	var first *entry
	for _, e := range entries {
		if routed && !credentialKey(e.key) && !strings.Contains(strings.TrimSpace(e.value), "\n") {
			continue
		}
		if !secretValue(e.key, e.value, refs) {
			continue
		}
		if credentialKey(e.key) {
			return manifest.KeyNode(n, e.field), e.key
		}
		if first == nil {
			first = &e
		}
	}
	if first != nil {
		return manifest.KeyNode(n, first.field), first.key
	}
	return nil, ""
}

// argoCDSecretType labels the Secrets Argo CD reads as repositories,
// repository credentials and clusters.
const argoCDSecretType = "argocd.argoproj.io/secret-type"

// elsewhere tells whether a Secret's value is taken from outside the
// repository: a secret manager's reference, a SOPS-encrypted file, a Flux
// variable.
func elsewhere(value string, refs []string) bool {
	return secretReference(value, refs) || sopsFile(value) || render.FluxVariable.MatchString(value)
}

// sshPublicKeys tells whether value is lines of SSH public keys, as
// authorized_keys and known_hosts hold them: each line names a key type
// followed by its base64 blob (options or host names before it).
func sshPublicKeys(value string) bool {
	found := false
	for l := range strings.Lines(value) {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		fields := strings.Fields(l)
		i := slices.IndexFunc(fields, func(f string) bool {
			return strings.HasPrefix(f, "ssh-") || strings.HasPrefix(f, "ecdsa-sha2-") || strings.HasPrefix(f, "sk-ssh-") || strings.HasPrefix(f, "sk-ecdsa-sha2-")
		})
		if i < 0 || i+1 >= len(fields) || !strings.HasPrefix(fields[i+1], "AAAA") {
			return false
		}
		found = true
	}
	return found
}

// secretValue tells whether a Secret's value under key is a secret in the
// clear (plainSecretField). A value that is a file of settings (a YAML or
// JSON mapping: a chart's values, an application's config; an env or INI
// file) is one when a key within it names a credential (credentialKey) and
// holds a value in the clear.
func secretValue(key, value string, refs []string) bool {
	if strings.TrimSpace(value) == "" || elsewhere(value, refs) || settingKey(key) {
		return false
	}
	switch {
	case sshPublicKeys(value):
		return false // authorized_keys, known_hosts: public
	case filePath(key, value):
		return false // token_file: /etc/secrets/token, mounted from elsewhere
	case !strings.Contains(strings.TrimSpace(value), "\n"), strings.Contains(value, "PRIVATE KEY-----"):
		return true
	case strings.HasPrefix(strings.TrimSpace(value), "-----BEGIN CERTIFICATE-----"):
		return false // a certificate is public
	}
	var doc yaml.Node
	if yaml.Unmarshal([]byte(value), &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		// An env or INI file: its KEY=value lines (a line of base64
		// ending in = is none); a text of none is a secret whole.
		pairs := slices.DeleteFunc(settingLine.FindAllStringSubmatch(value, -1), func(m []string) bool { return len(m[1]) > 48 || m[2] == "" })
		return len(pairs) == 0 || slices.ContainsFunc(pairs, func(m []string) bool { return credentialKey(m[1]) && secretValue(m[1], m[2], refs) })
	}
	var credential func(n *yaml.Node) bool
	credential = func(n *yaml.Node) bool {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				k, v := n.Content[i-1].Value, n.Content[i]
				if v.Kind == yaml.ScalarNode && credentialKey(k) && secretValue(k, v.Value, refs) || credential(v) {
					return true
				}
			}
		case yaml.SequenceNode:
			return slices.ContainsFunc(n.Content, credential)
		}
		return false
	}
	return credential(doc.Content[0])
}

// filePath tells whether value is the path of a file under a key that
// names one (password_file, tokenFile): where a program reads the
// credential from, mounted from elsewhere, not the credential.
func filePath(key, value string) bool {
	words := keyWords(key)
	if len(words) == 0 || words[len(words)-1] != "file" {
		return false
	}
	v := strings.TrimSpace(value)
	return (strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") || strings.HasPrefix(v, "~/")) && !strings.ContainsAny(v, " \t\n")
}

// settingLine is a line of an env or INI file: KEY=value, key = value.
var settingLine = regexp.MustCompile(`(?m)^[ \t]*(?:export[ \t]+)?([A-Za-z0-9_.-]+)[ \t]*=[ \t]*(.*?)[ \t\r]*$`)

// credentials are the words of a key that names a credential.
var credentials = map[string]bool{
	"password": true, "passwd": true, "pass": true, "pwd": true, "passphrase": true, "secret": true, "token": true,
	"key": true, "apikey": true, "credential": true, "credentials": true, "auth": true, "private": true,
	"dsn": true, "connection": true, "cookie": true, "session": true, "salt": true, "webhook": true,
}

// credentialKey tells whether one of a key's words (keyWords) is one of
// credentials: DB_PASSWORD, apiKey, client-secret.
func credentialKey(key string) bool {
	return slices.ContainsFunc(keyWords(key), func(w string) bool { return credentials[w] })
}

// settings are the last words of the keys of a Secret that name where or
// who, not a credential: DB_HOST, port, RESTIC_REPOSITORY, ca.crt.
var settings = map[string]bool{
	"host": true, "hostname": true, "port": true, "url": true, "uri": true, "endpoint": true, "server": true, "address": true,
	"database": true, "db": true, "dbname": true, "schema": true, "user": true, "username": true,
	"region": true, "bucket": true, "repository": true, "repo": true, "path": true, "namespace": true, "domain": true, "crt": true,
	"name": true, "email": true,
}

// settingKey tells whether a Secret's key names a setting: its last word
// (keyWords) is one of settings.
func settingKey(key string) bool {
	words := keyWords(key)
	return len(words) > 0 && settings[words[len(words)-1]]
}

// keyWords splits a key into its words, lower-cased: at any character not
// a letter or digit, and between a lower-case letter and an upper-case one
// (dbHost is db, host).
func keyWords(key string) []string {
	var words []string
	for _, part := range strings.FieldsFunc(key, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		start := 0
		for i := 1; i < len(part); i++ {
			if unicode.IsUpper(rune(part[i])) && unicode.IsLower(rune(part[i-1])) {
				words = append(words, strings.ToLower(part[start:i]))
				start = i
			}
		}
		words = append(words, strings.ToLower(part[start:]))
	}
	return words
}

// sopsMetadata finds the metadata SOPS writes into a file it encrypts, in
// each of its formats: YAML, JSON (and binary files, which it wraps in
// JSON), INI.
var sopsMetadata = []*regexp.Regexp{
	regexp.MustCompile(`(?m)^sops:[ \t]*\r?\n(?:[ \t]+.*\r?\n|[ \t]*\r?\n)*?[ \t]+mac:[ \t]`),
	regexp.MustCompile(`"sops":\s*\{[\s\S]*?"mac":\s*"`),
	regexp.MustCompile(`(?m)^\[sops\][ \t]*\r?\n(?:.*\r?\n)*?mac[ \t]*=`),
}

// sopsFile tells whether a secretGenerator's file is one SOPS encrypted,
// which kustomize-controller decrypts before kustomize reads it: what the
// repository holds is not in the clear.
func sopsFile(v string) bool {
	if !strings.Contains(v, "sops") {
		return false
	}
	for _, re := range sopsMetadata {
		if re.MatchString(v) {
			return true
		}
	}
	return false
}

// referencePrefixes start a value that names a secret in a secret manager
// rather than holding it, for the tools that resolve such references in
// the cluster or at deploy time: 1Password (op://), vals (ref+vault://,
// ref+awssecrets://, ...), Vault injectors (vault:), AWS Secrets Manager
// ARNs, GCP Secret Manager names, Azure Key Vault secret URLs, and
// argocd-vault-plugin placeholders.
var referencePrefixes = []string{"op://", "ref+", "vault:", "arn:aws:secretsmanager:", "arn:aws:ssm:", "projects/", "<path:"}

// secretReference tells whether a Secret's value only names a secret held
// elsewhere; refs are more prefixes .gitops.yaml gives.
func secretReference(v string, refs []string) bool {
	v = strings.TrimSpace(v)
	for _, p := range slices.Concat(referencePrefixes, refs) {
		if strings.HasPrefix(v, p) {
			return p != "projects/" || strings.Contains(v, "/secrets/")
		}
	}
	if strings.HasPrefix(v, "https://") && strings.Contains(v, ".vault.azure.net/secrets/") {
		return true
	}
	// A URI of a scheme other than the web's, naming a place without
	// credentials in it (no user information, no query): a path in a
	// secret store that a bootstrap tool resolves (azure://vault/item,
	// secret://name), as op:// is 1Password's.
	scheme, rest, ok := strings.Cut(v, "://")
	return ok && uriScheme.MatchString(scheme) && !webSchemes[strings.ToLower(scheme)] && rest != "" && !strings.ContainsAny(rest, "@?=:# \t\r\n")
}

// uriScheme is the syntax of a URI's scheme.
var uriScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// webSchemes are the schemes of URLs a secret may be (a webhook's URL
// holds its token).
var webSchemes = map[string]bool{"http": true, "https": true, "ws": true, "wss": true, "ftp": true, "ftps": true}

func secretMessage(ns, name, key string) string {
	id := name
	if ns != "" {
		id = ns + "/" + name
	}
	return fmt.Sprintf("Secret %s holds values in the clear (%s): encrypt it with SOPS (kustomize-controller decrypts it) or commit a SealedSecret instead", id, safetext.Text(key))
}

// checkDuplicates reports an object two or more Flux Kustomizations of
// the same cluster apply (one root rendering an object twice is a root
// rule's), once, naming them all. Every rendered root is compared, in
// scope or not, but those no cluster's tree applies, which deploy nothing
// to fight over: the finding is at the object of the last root in order
// that is in scope, or, when only the first one is, at that one's; a
// shard of a split reports it only when it checks the last (the whole
// would report it there).
func checkDuplicates(c *checker) error {
	clusters, err := c.clusters()
	if err != nil {
		return err
	}
	type owner struct {
		res  *render.Result
		fact objectFact
	}
	owners := map[string][]owner{}
	var keys []string // in the order first met
	for _, res := range sortedResults(c.in.Results) {
		k := res.Root.Kustomization
		if k == nil || res.Err != nil || c.in.Repository.Unreached(res.Root) {
			continue
		}
		f, err := c.facts(res)
		if err != nil {
			return err
		}
		cluster := clusters[k.ID()]
		if res.Root.Cluster != nil {
			cluster = "cluster:" + res.Root.Cluster.Name
		}
		if remote := remoteCluster(k); remote != "" {
			cluster = remote
		}
		for _, x := range f.Keys {
			ck := cluster + "\x00" + x.Key
			had := owners[ck]
			switch {
			case len(had) == 0:
				keys = append(keys, ck)
			case had[len(had)-1].res == res:
				continue
			}
			owners[ck] = append(had, owner{res, x})
		}
	}
	for _, ck := range keys {
		group := owners[ck]
		if len(group) < 2 {
			continue
		}
		objs := make([]*object, len(group))
		at := -1
		for i, o := range group {
			objs[i] = c.factObject(o.res, o.fact)
			if i > 0 && c.reportable(objs[i]) {
				at = i
			}
		}
		switch last := len(objs) - 1; {
		case c.in.Partial && at != last:
			// The shard that checks the last reports it, as the whole
			// would.
			continue
		case at < 0 && c.reportable(objs[0]):
			at = 0
		case at < 0:
			continue
		}
		var also []string
		same := true
		for i, o := range objs {
			if i == at {
				continue
			}
			also = append(also, o.root.Root.Kustomization.ID())
			if same {
				// One owner that renders it otherwise is enough.
				alike, err := c.alike(objs[at], o)
				if err != nil {
					return err
				}
				same = alike
			}
		}
		o := objs[at]
		by := fmt.Sprintf("%s is applied by Kustomization %s and also by %s", o.id, o.root.Root.Kustomization.ID(), kustomizations(also))
		if i := slices.IndexFunc(objs, appliesItself); i >= 0 {
			by += " (its spec.path holds the file it is written in: it applies itself" + selfApplyFix(c.in.Repository, objs[i].root.Root.Kustomization) + ")"
		}
		if same {
			// Nothing the object does changes: only which of them owns
			// it, as its ownership labels say, and so whose pruning
			// deletes it.
			fight := "each reconcile takes it from the other, and pruning by either deletes it until the other applies it again"
			if len(also) > 1 {
				fight = "each reconcile takes it from the others, and pruning by any of them deletes it until another applies it again"
			}
			c.addRaw(rawFinding{Default: Warning, Finding: c.objectFinding("duplicate-object", o, nil, by+", alike but for labels and annotations: "+fight)})
			continue
		}
		c.addObject("duplicate-object", o, nil, by+", which render it differently: they would fight over it")
	}
	return nil
}

// selfApplyFix says how k stops applying itself when what it builds names
// its file directly: the entry of its kustomization file that lists it,
// or, where Flux generates that file, the one folder below with a
// kustomization file its spec.path was likely meant to name, or that one
// written by hand can leave it out. Empty when its file comes in through
// another folder, which another Kustomization may build too.
func selfApplyFix(r *render.Repository, k *render.Kustomization) string {
	file := k.Object.File
	dir := path.Dir(file)
	for ; dir != k.Path(); dir = path.Dir(dir) {
		if _, ok := r.Kustomizations[dir]; ok || dir == "." || dir == "/" {
			return ""
		}
	}
	kf, ok := r.Kustomizations[dir]
	if !ok {
		var subs []string
		for d := range r.Kustomizations {
			if path.Dir(d) == dir {
				subs = append(subs, d)
			}
		}
		fix := "write one that leaves " + path.Base(file) + " out"
		if len(subs) == 1 {
			// The layout of most home-labs: ks.yaml beside the app/
			// folder its spec.path was meant to name.
			fix = "point spec.path at ./" + subs[0] + ", or " + fix
		}
		return fmt.Sprintf("; %s has no kustomization file, so Flux applies every YAML file in it: %s", dir, fix)
	}
	for _, ref := range kf.Refs {
		if ref.Field == "resources" && path.Join(kf.Dir, ref.Value) == file {
			return fmt.Sprintf("; leave %s out of %s:%d", ref.Value, kf.Path, ref.Line)
		}
	}
	return ""
}

// appliesItself tells whether o is the Kustomization whose render gives
// it.
func appliesItself(o *object) bool {
	return strings.HasPrefix(o.id, render.FluxGroup+"/") && strings.HasSuffix(o.id, "/Kustomization/"+o.root.Root.Kustomization.ID())
}

// kustomizations names Flux Kustomizations by ID: "Kustomization a",
// "Kustomizations a and b", "Kustomizations a, b, c, d, e and 3 more".
func kustomizations(ids []string) string {
	const shown = 5
	if len(ids) == 1 {
		return "Kustomization " + ids[0]
	}
	if len(ids) > shown+1 {
		return fmt.Sprintf("Kustomizations %s and %d more", strings.Join(ids[:shown], ", "), len(ids)-shown)
	}
	return "Kustomizations " + strings.Join(ids[:len(ids)-1], ", ") + " and " + ids[len(ids)-1]
}

// remoteCluster names the cluster a Kustomization with a kubeConfig
// applies to, another than its own (a hub's spokes): by the Secret or
// ConfigMap that reaches it, in the Kustomization's namespace. "" for its
// own cluster.
func remoteCluster(k *render.Kustomization) string {
	kc := k.Spec.KubeConfig
	switch {
	case kc == nil:
		return ""
	case kc.SecretRef != nil:
		return "kubeconfig:" + k.Namespace() + "/secret/" + kc.SecretRef.Name
	case kc.ConfigMapRef != nil:
		return "kubeconfig:" + k.Namespace() + "/configmap/" + kc.ConfigMapRef.Name
	}
	return ""
}

// alike tells whether two rendered objects are the same but for their
// labels and annotations, whose differences (the ownership labels Flux
// sets, the labels each Kustomization adds) change only who owns the
// object, not what it does.
func (c *checker) alike(a, b *object) (bool, error) {
	var content [2]map[string]any
	for i, o := range []*object{a, b} {
		objs, err := c.objectsOf(o.root)
		if err != nil {
			return false, err
		}
		if o.index >= len(objs) {
			return false, nil
		}
		n := objs[o.index].node
		m, err := n.Map()
		if err != nil {
			return false, nil
		}
		if meta, ok := m["metadata"].(map[string]any); ok {
			delete(meta, "labels")
			delete(meta, "annotations")
		}
		if strings.HasSuffix(group(n.GetApiVersion()), ".fluxcd.io") {
			fluxDurations(m)
		}
		content[i] = m
	}
	return reflect.DeepEqual(content[0], content[1]), nil
}

// fluxDurations spells alike, in a Flux object's content, the durations
// its controllers read (interval, timeout, retryInterval and the like):
// "1h" and "1h0m0s" are one interval to them (sulibot/home-ops writes
// a HelmRepository each way in two folders one cluster applies).
func fluxDurations(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "interval" || k == "timeout" || strings.HasSuffix(k, "Interval") || strings.HasSuffix(k, "Timeout")) {
				if d, err := time.ParseDuration(s); err == nil {
					v[k] = d.String()
				}
				continue
			}
			fluxDurations(x)
		}
	case []any:
		for _, x := range v {
			fluxDurations(x)
		}
	}
}

// factObject is the object a fact of res is about.
func (c *checker) factObject(res *render.Result, x objectFact) *object {
	o := &object{root: res, index: x.Index, id: x.ID}
	if x.Index < len(res.Origins) {
		o.origin = res.Origins[x.Index]
	}
	return o
}

// objectKey identifies an object in a cluster: group, kind, namespace and
// name, whatever its version.
func objectKey(o *object) string {
	gv := o.node.GetApiVersion()
	group := ""
	if i := strings.IndexByte(gv, '/'); i >= 0 {
		group = gv[:i]
	}
	return group + "/" + o.node.GetKind() + "/" + o.node.GetNamespace() + "/" + o.node.GetName()
}

// clusters maps each Flux Kustomization no cluster's walk reached to the
// cluster it is applied to, so that roots of different clusters are never
// compared: the top of the chain of Kustomizations that applies it (the
// cluster's flux-system one), or, for Kustomizations no root of the
// repository applies, the directory they are defined in (clusters/prod).
// A root a walk reached knows its cluster (render.Root.Cluster).
func (c *checker) clusters() (map[string]string, error) {
	parent := map[string]string{}
	selfApplied := map[string]bool{}
	for _, res := range c.in.Results {
		k := res.Root.Kustomization
		if k == nil || res.Err != nil {
			continue
		}
		flux, err := c.fluxOf(res)
		if err != nil {
			return nil, err
		}
		for _, o := range flux {
			if o.node.GetKind() != "Kustomization" || group(o.node.GetApiVersion()) != render.FluxGroup {
				continue
			}
			id := namespace(o.node) + "/" + o.node.GetName()
			if id == k.ID() {
				selfApplied[id] = true
			} else {
				parent[id] = k.ID()
			}
		}
	}
	defined := map[string]string{}
	for _, k := range c.in.Repository.Flux {
		defined[k.ID()] = "dir:" + path.Dir(k.Object.File)
	}
	top := map[string]string{}
	for _, res := range c.in.Results {
		k := res.Root.Kustomization
		if k == nil {
			continue
		}
		id := k.ID()
		for seen := map[string]bool{}; parent[id] != "" && !seen[id]; id = parent[id] {
			seen[id] = true
		}
		top[k.ID()] = id
		if d, ok := defined[id]; ok && !selfApplied[id] {
			top[k.ID()] = d
		}
	}
	return top, nil
}

// scopedResults are the results of the roots in scope.
func (c *checker) scopedResults() []*render.Result {
	if c.in.Roots == nil {
		return c.in.Results
	}
	want := map[string]bool{}
	for _, r := range c.in.Roots {
		want[r.String()] = true
	}
	var out []*render.Result
	for _, res := range c.in.Results {
		if want[res.Root.String()] {
			out = append(out, res)
		}
	}
	return out
}
