package ci

import (
	"context"
	"fmt"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// maxFindings is how many findings a comment lists before pointing to
// validate for the rest.
const maxFindings = 50

// Comment is the bot's comment on a: the validation summary, the roots
// that do not render, the findings, then the rendered diff, in parts
// under limit bytes each.
func Comment(a *Analysis, limit int) []string {
	var head strings.Builder
	head.WriteString("### kubectl gitops\n\n")
	icon := "✅"
	if a.Failed() {
		icon = "❌"
	}
	fmt.Fprintf(&head, "%s **Validation**: %s.\n\n", icon, a.Report.Summary)
	for _, b := range a.Broken {
		fmt.Fprintf(&head, "- ❌ %s does not render: %s\n", safetext.CodeSpan(b.Root), safetext.Markdown(b.Error))
	}
	for i, f := range a.Report.Findings {
		if i == maxFindings {
			fmt.Fprintf(&head, "- … and %d more findings: run `kubectl gitops validate` for all of them.\n", len(a.Report.Findings)-maxFindings)
			break
		}
		icon := "❌"
		if f.Severity == validate.Warning {
			icon = "⚠️"
		}
		fmt.Fprintf(&head, "- %s %s %s (`%s`)\n", icon, safetext.CodeSpan(fmt.Sprintf("%s:%d", f.File, f.Line)), safetext.Markdown(f.Message), f.Rule)
	}
	head.WriteString("\n")
	parts := diff.Markdown(a.Diffs, "Rendered diff", limit-head.Len()-256)
	parts[0] = head.String() + parts[0]
	return parts
}

// Status is the commit status that reports a.
func Status(a *Analysis) forge.Status {
	st := forge.Status{State: forge.Success, Context: "kubectl-gitops", Description: fmt.Sprintf("%d errors, %d warnings", a.Report.Summary.Errors, a.Report.Summary.Warnings)}
	if a.Failed() {
		st.State = forge.Failure
	}
	return st
}

// Post brings the bot's comments on pull request pr to parts, as Plan
// says, calling done after each action taken.
func Post(ctx context.Context, f forge.Forge, pr int, parts []string, done func(Action)) error {
	existing, err := f.Comments(ctx, pr)
	if err != nil {
		return fmt.Errorf("listing the comments of #%d: %w", pr, err)
	}
	ours := make([]Existing, len(existing))
	for i, c := range existing {
		ours[i] = Existing{ID: c.ID, Body: c.Body}
	}
	for _, act := range Plan(ours, parts) {
		switch act.Op {
		case "create":
			_, err = f.CreateComment(ctx, pr, act.Body)
		case "edit":
			err = f.EditComment(ctx, pr, act.ID, act.Body)
		case "delete":
			err = f.DeleteComment(ctx, pr, act.ID)
		}
		if err != nil {
			return fmt.Errorf("%s comment on #%d: %w", act.Op, pr, err)
		}
		done(act)
	}
	return nil
}
